package push_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/duet-rtc/duet/internal/leaktest"
	"github.com/duet-rtc/duet/protocol"
	"github.com/duet-rtc/duet/server/callflow"
	"github.com/duet-rtc/duet/server/push"
	"github.com/duet-rtc/duet/server/push/pushtest"
	"github.com/duet-rtc/duet/server/route"
	"github.com/duet-rtc/duet/server/store"
	"github.com/duet-rtc/duet/server/store/sqlite"
)

const app = "org#app"

var t0 = time.UnixMilli(1_760_000_000_000).UTC()

type env struct {
	t   *testing.T
	st  *sqlite.Store
	svc *push.Service
}

// newEnv opens a store with users alice and bob and a push service trusting the local test
// servers.
func newEnv(t *testing.T, tlsFrom *pushtest.APNs) *env {
	t.Helper()
	return newEnvTLS(t, pushtest.TLSConfig(tlsFrom.Server))
}

// loopbackAllowed lets Web Push reach the local push service.
func loopbackAllowed(c *push.Config) {
	c.WebPushAllow = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
}

// newEnvTLS is newEnv with the TLS configuration of connections to the providers.
func newEnvTLS(t *testing.T, tlsConfig *tls.Config, opts ...func(*push.Config)) *env {
	t.Helper()
	leaktest.Check(t)
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "duet.db"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := st.CreateApp(ctx, store.App{Key: app, Org: "org", Name: "app", ClientID: "c", ClientSecret: "s", Registration: "open", Created: t0}); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"alice", "bob"} {
		if err := st.CreateUsers(ctx, []store.User{{UUID: u, App: app, Username: u, PasswordHash: "x", Created: t0, Modified: t0}}); err != nil {
			t.Fatal(err)
		}
	}
	cfg := push.Config{Store: st, TLS: tlsConfig, Logger: slog.New(slog.DiscardHandler),
		RetryDelays: []time.Duration{10 * time.Millisecond, 20 * time.Millisecond}}
	for _, o := range opts {
		o(&cfg)
	}
	svc := push.New(cfg)
	e := &env{t: t, st: st, svc: svc}
	t.Cleanup(func() { svc.Close(); st.Close() })
	return e
}

func (e *env) creds(provider string, raw []byte) {
	e.t.Helper()
	cfg, err := push.ParseCredentials(provider, raw)
	if err != nil {
		e.t.Fatalf("ParseCredentials(%s): %v", provider, err)
	}
	if err := e.st.PutPushCredentials(context.Background(), store.PushCredentials{App: app, Provider: provider, Config: cfg, Updated: t0}); err != nil {
		e.t.Fatal(err)
	}
}

// bind binds a token through the device protocol, as the SDK does.
func (e *env) bind(user, device string, b protocol.PushBind) {
	e.t.Helper()
	reply := e.svc.HandleMessage(route.Device{App: app, User: user, ID: device}, protocol.NewMessage(protocol.TypePushBind, "b", &b))
	if reply == nil || reply.Error != nil {
		e.t.Fatalf("bind: %+v", reply)
	}
}

func (e *env) bindings(user string) []store.PushBinding {
	e.t.Helper()
	list, err := e.st.PushBindings(context.Background(), app, user)
	if err != nil {
		e.t.Fatal(err)
	}
	return list
}

func invite(id string) protocol.CallIncoming {
	return protocol.CallIncoming{CallID: id, From: "alice", FromDevice: "a1", Type: protocol.CallVideo, Ext: "nick=Alice"}
}

func ended(id string, reason protocol.EndReason, answeredBy string) callflow.Event {
	return callflow.Event{Kind: callflow.EventEnded, CallID: id, App: app, Caller: "alice", Callee: "bob", Reason: reason,
		Record: &callflow.Record{ID: id, CalleeDevice: answeredBy}}
}

func duet(t *testing.T, payload map[string]any) map[string]any {
	t.Helper()
	d, ok := payload["duet"].(map[string]any)
	if !ok {
		t.Fatalf("payload without duet data: %v", payload)
	}
	return d
}

const wait = 10 * time.Second

// TestCallPushAPNs: a device with a VoIP token gets a VoIP push (and no alert), a device
// with only an alert token gets an alert; when the call ends both get the cancel as an
// alert, the first on its alert token: never a VoIP push that reports no call.
func TestCallPushAPNs(t *testing.T) {
	apns := pushtest.NewAPNs(t)
	e := newEnv(t, apns)
	e.creds(protocol.PushAPNs, apns.Credentials("com.example.duet"))
	e.bind("bob", "phone", protocol.PushBind{Provider: "apns", Token: "aaaa1111", VoIP: true})
	e.bind("bob", "phone", protocol.PushBind{Provider: "apns", Token: "aaaa2222"})
	e.bind("bob", "pad", protocol.PushBind{Provider: "apns", Token: "bbbb1111"})

	before := time.Now()
	if !e.svc.PushCall(app, "bob", invite("c1"), "Alice is calling") {
		t.Fatal("PushCall reported nothing sent")
	}
	byToken := map[string]pushtest.APNsPush{}
	for range 2 {
		p := apns.Wait(t, wait)
		byToken[p.Token] = p
	}
	apns.None(t, 100*time.Millisecond)
	v := byToken["aaaa1111"]
	if v.Status != 200 || v.Topic != "com.example.duet.voip" || v.PushType != "voip" || v.Priority != "10" {
		t.Fatalf("voip push %+v", v)
	}
	if v.Expiration.Before(before) || v.Expiration.After(before.Add(push.DefaultCallTTL+2*time.Second)) {
		t.Fatalf("voip push expires at %v, want about the ring timeout from now", v.Expiration)
	}
	if d := duet(t, v.Payload); d["type"] != "call.incoming" || d["callId"] != "c1" || d["from"] != "alice" || d["callType"] != "1" || d["ext"] != "nick=Alice" {
		t.Fatalf("voip payload %v", d)
	}
	a := byToken["bbbb1111"]
	if a.Status != 200 || a.Topic != "com.example.duet" || a.PushType != "alert" || a.CollapseID != "c1" {
		t.Fatalf("alert push %+v", a)
	}
	aps := a.Payload["aps"].(map[string]any)
	if alert := aps["alert"].(map[string]any); alert["body"] != "Alice is calling" || alert["title"] != "alice" {
		t.Fatalf("alert %v", aps)
	}

	e.svc.Observe(ended("c1", protocol.EndHangup, ""))
	cancels := map[string]bool{}
	for range 2 {
		p := apns.Wait(t, wait)
		if d := duet(t, p.Payload); d["type"] != "call.cancel" || d["callId"] != "c1" || d["reason"] != "0" {
			t.Fatalf("cancel %+v", p)
		}
		if p.PushType != "alert" || p.Topic != "com.example.duet" || p.CollapseID != "c1" {
			t.Fatalf("a cancel that is not an alert replacing the call's: %+v", p)
		}
		cancels[p.Token] = true
	}
	if !cancels["aaaa2222"] || !cancels["bbbb1111"] {
		t.Fatalf("cancels went to %v, want the phone's alert token and the pad's", cancels)
	}
	// A second end changes nothing: the call is forgotten.
	e.svc.Observe(ended("c1", protocol.EndHangup, ""))
	apns.None(t, 100*time.Millisecond)
}

// TestAnsweredCallCancelsOtherDevices: the device that answered gets no cancel, and nor does
// a device with only a VoIP token (a VoIP push must report a call; its app, woken by the
// call's push, hears the end from the server). An alert-only device gets none either
// (nothing to replace for an answered call).
func TestAnsweredCallCancelsOtherDevices(t *testing.T) {
	apns := pushtest.NewAPNs(t)
	e := newEnv(t, apns)
	e.creds(protocol.PushAPNs, apns.Credentials("com.example.duet"))
	e.bind("bob", "phone", protocol.PushBind{Provider: "apns", Token: "p1", VoIP: true})
	e.bind("bob", "watch", protocol.PushBind{Provider: "apns", Token: "w1", VoIP: true})
	if !e.svc.PushCall(app, "bob", invite("c2"), "") {
		t.Fatal("nothing pushed")
	}
	apns.Wait(t, wait)
	apns.Wait(t, wait)
	e.svc.Observe(ended("c2", protocol.EndHangup, "phone"))
	apns.None(t, 100*time.Millisecond)
}

// TestCallEndsDuringPush: the cancel still goes out when the call ends while PushCall runs.
func TestCallEndsDuringPush(t *testing.T) {
	apns := pushtest.NewAPNs(t)
	e := newEnv(t, apns)
	e.creds(protocol.PushAPNs, apns.Credentials("com.example.duet"))
	e.bind("bob", "phone", protocol.PushBind{Provider: "apns", Token: "p1", VoIP: true})
	e.bind("bob", "phone", protocol.PushBind{Provider: "apns", Token: "p2"})
	done := make(chan bool)
	go func() { done <- e.svc.PushCall(app, "bob", invite("c3"), "") }()
	apns.Wait(t, wait) // the call push reached APNs; PushCall may still be running
	e.svc.Observe(ended("c3", protocol.EndNoResponse, ""))
	if !<-done {
		t.Fatal("nothing pushed")
	}
	if p := apns.Wait(t, wait); duet(t, p.Payload)["type"] != "call.cancel" || p.Token != "p2" || p.PushType != "alert" {
		t.Fatalf("second push %+v", p)
	}
}

// TestInvalidTokensUnbound: 410 Unregistered and 400 BadDeviceToken unbind the token; a
// call whose only targets are invalid reports nothing sent.
func TestInvalidTokensUnbound(t *testing.T) {
	apns := pushtest.NewAPNs(t)
	e := newEnv(t, apns)
	e.creds(protocol.PushAPNs, apns.Credentials("com.example.duet"))
	apns.Gone("dead1")
	apns.Bad("dead2")
	e.bind("bob", "phone", protocol.PushBind{Provider: "apns", Token: "dead1", VoIP: true})
	e.bind("bob", "pad", protocol.PushBind{Provider: "apns", Token: "dead2"})
	if e.svc.PushCall(app, "bob", invite("c4"), "") {
		t.Fatal("PushCall reported success to invalid tokens")
	}
	got := map[string]int{}
	for range 2 {
		p := apns.Wait(t, wait)
		got[p.Token] = p.Status
	}
	if got["dead1"] != 410 || got["dead2"] != 400 {
		t.Fatalf("answers %v", got)
	}
	if list := e.bindings("bob"); len(list) != 0 {
		t.Fatalf("invalid tokens still bound: %+v", list)
	}
}

func TestCertificateAuth(t *testing.T) {
	apns := pushtest.NewAPNsCertAuth(t)
	e := newEnv(t, apns)
	raw, _ := json.Marshal(map[string]any{"authType": "certificate", "certificate": pushtest.ClientCertPEM(t),
		"topic": "com.example.duet", "host": apns.URL})
	e.creds(protocol.PushAPNs, raw)
	e.bind("bob", "phone", protocol.PushBind{Provider: "apns", Token: "c0ffee", VoIP: true})
	if !e.svc.PushCall(app, "bob", invite("c5"), "") {
		t.Fatal("nothing pushed")
	}
	if p := apns.Wait(t, wait); !p.ClientCert || p.Status != 200 {
		t.Fatalf("push %+v", p)
	}
}

// TestFCM: the OAuth flow runs once for several pushes; calls are high-priority data
// messages; UNREGISTERED unbinds the token.
func TestFCM(t *testing.T) {
	fcm := pushtest.NewFCM(t)
	apns := pushtest.NewAPNs(t) // for TLS roots only: httptest servers share a certificate
	e := newEnv(t, apns)
	e.creds(protocol.PushFCM, fcm.Credentials())
	e.bind("bob", "android", protocol.PushBind{Provider: "fcm", Token: "fcm-token-1"})
	for _, id := range []string{"c6", "c7"} {
		if !e.svc.PushCall(app, "bob", invite(id), "ring") {
			t.Fatalf("%s: nothing pushed", id)
		}
		m := fcm.Wait(t, wait)
		if m.Status != 200 || m.Message.Token != "fcm-token-1" || m.Message.Android.Priority != "HIGH" ||
			m.Message.Data["type"] != "call.incoming" || m.Message.Data["callId"] != id || m.Message.Notification != nil ||
			m.Message.Android.CollapseKey != id || !strings.HasSuffix(m.Message.Android.TTL, "s") {
			t.Fatalf("message %+v", m)
		}
	}
	if n := fcm.TokenRequests.Load(); n != 1 {
		t.Fatalf("%d access tokens fetched, want 1 (cached)", n)
	}
	e.svc.Observe(ended("c7", protocol.EndNoResponse, ""))
	if m := fcm.Wait(t, wait); m.Message.Data["type"] != "call.cancel" || m.Message.Android.Priority != "HIGH" {
		t.Fatalf("cancel %+v", m)
	}
	fcm.Gone("fcm-token-1")
	if e.svc.PushCall(app, "bob", invite("c8"), "") {
		t.Fatal("PushCall succeeded to an unregistered token")
	}
	if list := e.bindings("bob"); len(list) != 0 {
		t.Fatalf("unregistered token still bound: %+v", list)
	}
}

// TestWebhookProvider: the app's push service gets signed POSTs, retried after 503s.
func TestWebhookProvider(t *testing.T) {
	rcv := pushtest.NewReceiver(t, "0123456789abcdef-secret")
	apns := pushtest.NewAPNs(t)
	e := newEnv(t, apns)
	raw, _ := json.Marshal(push.WebhookConfig{URL: rcv.URL + "/push", Secret: rcv.Secret})
	e.creds(protocol.PushWebhook, raw)
	e.bind("bob", "phone", protocol.PushBind{Provider: "webhook", Token: "jpush-reg-1"})
	rcv.Down.Store(true)
	go func() {
		time.Sleep(250 * time.Millisecond)
		rcv.Down.Store(false)
	}()
	if !e.svc.PushCall(app, "bob", invite("c9"), "ring") {
		t.Fatal("nothing pushed")
	}
	h := rcv.Wait(t, wait)
	if h.Event != "call.incoming" || h.JSON["user"] != "bob" || h.JSON["device"] != "phone" || h.JSON["token"] != "jpush-reg-1" {
		t.Fatalf("hook %+v", h.JSON)
	}
	if rcv.Requests.Load() < 2 || rcv.BadSignatures.Load() != 0 {
		t.Fatalf("%d requests, %d bad signatures: want retries and no bad signature", rcv.Requests.Load(), rcv.BadSignatures.Load())
	}
	rcv.GoneStatus.Store(410)
	if e.svc.PushCall(app, "bob", invite("c10"), "") {
		t.Fatal("PushCall succeeded against a 410")
	}
	if list := e.bindings("bob"); len(list) != 0 {
		t.Fatalf("refused token still bound: %+v", list)
	}
}

// TestMessageAlerts honours em_apns_ext and em_android_push_ext, and skips VoIP tokens.
func TestMessageAlerts(t *testing.T) {
	apns := pushtest.NewAPNs(t)
	fcm := pushtest.NewFCM(t)
	e := newEnv(t, apns)
	e.creds(protocol.PushAPNs, apns.Credentials("com.example.duet"))
	e.creds(protocol.PushFCM, fcm.Credentials())
	e.bind("bob", "phone", protocol.PushBind{Provider: "apns", Token: "voip-tok", VoIP: true})
	e.bind("bob", "phone", protocol.PushBind{Provider: "apns", Token: "alert-tok"})
	e.bind("bob", "android", protocol.PushBind{Provider: "fcm", Token: "fcm-tok"})
	ext := `{"em_apns_ext":{"em_push_title":"Incoming call","em_push_sound":"ring.caf","em_push_mutable_content":true},
		"em_android_push_ext":{"em_push_sound":"/raw/ring","em_push_channel_id":"calls"},"em_push_ext":{"type":"call"}}`
	e.svc.PushMessage(store.Message{App: app, ID: "m1", From: "alice", To: "bob", Text: "call me", Ext: []byte(ext)})
	p := apns.Wait(t, wait)
	aps := p.Payload["aps"].(map[string]any)
	alert := aps["alert"].(map[string]any)
	if p.Token != "alert-tok" || p.PushType != "alert" || p.Topic != "com.example.duet" || alert["title"] != "Incoming call" ||
		alert["body"] != "call me" || aps["sound"] != "ring.caf" || aps["mutable-content"] != float64(1) {
		t.Fatalf("alert %+v", p)
	}
	m := fcm.Wait(t, wait)
	if m.Message.Notification == nil || m.Message.Notification.Body != "call me" ||
		m.Message.Android.Notification["sound"] != "/raw/ring" || m.Message.Android.Notification["channel_id"] != "calls" ||
		m.Message.Data["messageId"] != "m1" {
		t.Fatalf("fcm %+v", m)
	}
	apns.None(t, 100*time.Millisecond) // nothing to the VoIP token
}

func TestNoCredentialsNoPush(t *testing.T) {
	apns := pushtest.NewAPNs(t)
	e := newEnv(t, apns)
	e.bind("bob", "phone", protocol.PushBind{Provider: "apns", Token: "t1", VoIP: true})
	if e.svc.PushCall(app, "bob", invite("c11"), "") {
		t.Fatal("pushed without credentials")
	}
	if e.svc.PushCall(app, "alice", invite("c12"), "") {
		t.Fatal("pushed to a user without tokens")
	}
}

func TestBindUnbind(t *testing.T) {
	apns := pushtest.NewAPNs(t)
	e := newEnv(t, apns)
	dev := route.Device{App: app, User: "bob", ID: "phone"}
	e.bind("bob", "phone", protocol.PushBind{Provider: "apns", Token: "t1", VoIP: true, Topic: "com.other.app"})
	e.bind("bob", "phone", protocol.PushBind{Provider: "fcm", Token: "f1"})
	if list := e.bindings("bob"); len(list) != 2 || list[0].Topic != "com.other.app" {
		t.Fatalf("bindings %+v", list)
	}
	reply := e.svc.HandleMessage(dev, protocol.NewMessage(protocol.TypePushUnbind, "u", &protocol.PushUnbind{Provider: "fcm"}))
	if reply.Error != nil || len(e.bindings("bob")) != 1 {
		t.Fatalf("unbind: %+v, %d left", reply, len(e.bindings("bob")))
	}
	bad := e.svc.HandleMessage(dev, &protocol.Envelope{Type: protocol.TypePushBind, ID: "x", Data: []byte(`{"provider":"apns","token":"a b"}`)})
	if bad.Error == nil || bad.Error.Code != protocol.CodeBadMessage {
		t.Fatalf("bad bind: %+v", bad)
	}
	ghost := e.svc.HandleMessage(route.Device{App: app, User: "ghost", ID: "d"}, protocol.NewMessage(protocol.TypePushBind, "g", &protocol.PushBind{Provider: "fcm", Token: "x"}))
	if ghost.Error == nil || ghost.Error.Code != protocol.CodeUserNotFound {
		t.Fatalf("bind for a deleted user: %+v", ghost)
	}
	if r := e.svc.HandleMessage(dev, protocol.NewMessage(protocol.TypePushUnbind, "", &protocol.PushUnbind{})); r != nil {
		t.Fatalf("one-way unbind answered %+v", r)
	}
	if len(e.bindings("bob")) != 0 {
		t.Fatal("unbind all left bindings")
	}
}

func TestParseCredentialsAndRedact(t *testing.T) {
	apns := pushtest.NewAPNs(t)
	cfg, err := push.ParseCredentials("apns", apns.Credentials("com.example.duet"))
	if err != nil {
		t.Fatal(err)
	}
	red := push.Redact("apns", cfg, 5)
	b, _ := json.Marshal(red)
	if strings.Contains(string(b), "PRIVATE KEY") || red.Config["key"] != "(redacted)" || red.Config["keyId"] != apns.KeyID {
		t.Fatalf("redacted view %s", b)
	}
	fcm := pushtest.NewFCM(t)
	cfg, err = push.ParseCredentials("fcm", fcm.Credentials())
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := json.Marshal(push.Redact("fcm", cfg, 0)); strings.Contains(string(b), "PRIVATE KEY") || !strings.Contains(string(b), fcm.ClientEmail) {
		t.Fatalf("redacted fcm %s", b)
	}
	for _, c := range []struct{ provider, raw string }{
		{"apns", `{"authType":"token","key":"-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----","keyId":"k","teamId":"t","topic":"x"}`},
		{"apns", `{"authType":"token","key":"k","topic":"x"}`},
		{"apns", `{"authType":"magic","topic":"x"}`},
		{"apns", `{"authType":"certificate","certificate":"bm90IGEgcDEy","password":"hunter2-secret","topic":"x"}`},
		{"apns", `{"unknown":1}`},
		{"fcm", `{"serviceAccount":{"project_id":"p"}}`},
		{"webhook", `{"url":"ftp://x","secret":"0123456789abcdef"}`},
		{"webhook", `{"url":"https://x","secret":"short"}`},
		{"gcm", `{}`},
	} {
		_, err := push.ParseCredentials(c.provider, []byte(c.raw))
		if protocol.CodeOf(err) != protocol.CodeBadMessage {
			t.Errorf("%s %s: %v, want code 900", c.provider, c.raw, err)
		}
		if err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("error quotes a secret: %v", err)
		}
	}
}

// TestWebPush: a call and its cancel reach a browser's push service as RFC 8291 payloads
// that decrypt with the subscription's keys, signed with the app's VAPID key (made on first
// use, the one VAPIDPublicKey serves), with TTL, urgency and a topic shared by the call and
// its cancel; a subscription the push service reports gone (404, 410) is unbound.
func TestWebPush(t *testing.T) {
	wp := pushtest.NewWebPush(t)
	e := newEnvTLS(t, pushtest.TLSConfig(wp.Server), loopbackAllowed)
	ctx := context.Background()
	pub, err := e.svc.VAPIDPublicKey(ctx, app)
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := e.svc.VAPIDPublicKey(ctx, app); again != pub || len(pub) != 87 {
		t.Fatalf("VAPID public key %q then %q: want one 65-byte key, kept", pub, again)
	}
	sub := wp.Subscribe(t)
	e.bind("bob", "browser", protocol.PushBind{Provider: "webpush", Token: sub})
	if list := e.bindings("bob"); len(list) != 1 || strings.Contains(list[0].Token, "expirationTime") {
		t.Fatalf("bindings %+v: want the subscription, in canonical form", list)
	}
	e.bind("bob", "browser", protocol.PushBind{Provider: "webpush", Token: sub}) // again: still one
	if list := e.bindings("bob"); len(list) != 1 {
		t.Fatalf("bound twice: %+v", list)
	}
	type payload struct {
		App, Title, Body string
		Data             map[string]string
		Expires          int64
	}
	read := func(kind string) (webPushHeaders, payload) {
		t.Helper()
		m := wp.Wait(t, wait)
		var p payload
		if m.Status != 201 || json.Unmarshal(m.Payload, &p) != nil {
			t.Fatalf("%s: status %d (%s), payload %q", kind, m.Status, m.Err, m.Payload)
		}
		if p.Data["type"] != kind {
			t.Fatalf("got %s, want %s: %+v", p.Data["type"], kind, p)
		}
		return webPushHeaders{TTL: m.TTL, Urgency: m.Urgency, Topic: m.Topic, PublicKey: m.PublicKey, Subject: m.Subject, Expires: m.Expires}, p
	}
	start := time.Now()
	if !e.svc.PushCall(app, "bob", invite("CALL1"), "ring ring") {
		t.Fatal("nothing pushed")
	}
	h, p := read("call.incoming")
	if h.PublicKey != pub || h.Urgency != "high" || h.Topic != "CALL1" || h.TTL < 40 || h.TTL > 45 ||
		h.Subject != push.DefaultVAPIDSubject || h.Expires.Before(start.Add(time.Hour)) {
		t.Fatalf("call push headers %+v", h)
	}
	if p.App != app || p.Title != "alice" || p.Body != "ring ring" || p.Data["callId"] != "CALL1" || p.Data["from"] != "alice" ||
		p.Data["callType"] != "1" || p.Expires == 0 {
		t.Fatalf("call payload %+v", p)
	}
	e.svc.Observe(ended("CALL1", protocol.EndNoResponse, ""))
	h, p = read("call.cancel")
	if h.Topic != "CALL1" || h.Urgency != "high" || p.Data["callId"] != "CALL1" || p.Data["reason"] != fmt.Sprint(int(protocol.EndNoResponse)) {
		t.Fatalf("cancel %+v %+v", h, p)
	}
	for _, status := range []int{404, 410} {
		sub := wp.Subscribe(t)
		e.bind("bob", "browser", protocol.PushBind{Provider: "webpush", Token: sub})
		wp.Gone(sub, status)
		if e.svc.PushCall(app, "bob", invite(fmt.Sprintf("GONE%d", status)), "") {
			t.Fatalf("PushCall succeeded against a %d", status)
		}
		if m := wp.Wait(t, wait); m.Status != status {
			t.Fatalf("push service answered %d, want %d", m.Status, status)
		}
		if list := e.bindings("bob"); len(list) != 0 {
			t.Fatalf("subscription still bound after %d: %+v", status, list)
		}
	}
}

// TestWebPushSubscriptionChecked: a webpush token that is not a usable subscription is
// refused at bind time with a coded error.
func TestWebPushSubscriptionChecked(t *testing.T) {
	wp := pushtest.NewWebPush(t)
	e := newEnvTLS(t, pushtest.TLSConfig(wp.Server))
	for _, tok := range []string{
		"not json",
		`{"endpoint":"http://push.example/1","keys":{"p256dh":"BAAA","auth":"AAAAAAAAAAAAAAAAAAAAAA"}}`,
		strings.Replace(wp.Subscribe(t), `"auth":"`, `"auth":"x`, 1),
		strings.Replace(wp.Subscribe(t), "https://", "http://", 1),
	} {
		reply := e.svc.HandleMessage(route.Device{App: app, User: "bob", ID: "b"},
			protocol.NewMessage(protocol.TypePushBind, "b", &protocol.PushBind{Provider: "webpush", Token: tok}))
		if reply == nil || reply.Error == nil || reply.Error.Code != protocol.CodeBadMessage {
			t.Errorf("token %q: reply %+v, want a bad-message error", tok, reply)
		}
	}
}

// webPushHeaders are what TestWebPush checks of a push besides its payload.
type webPushHeaders struct {
	TTL                int
	Urgency, Topic     string
	PublicKey, Subject string
	Expires            time.Time
}

// TestWebPushPrivateEndpointRefused: a subscription's endpoint is the client's choice, so
// by default the server does not connect to it on loopback (or any private or special
// address): nothing reaches the push service and the call is not counted as pushed.
func TestWebPushPrivateEndpointRefused(t *testing.T) {
	wp := pushtest.NewWebPush(t)
	e := newEnvTLS(t, pushtest.TLSConfig(wp.Server))
	if _, err := e.svc.VAPIDPublicKey(context.Background(), app); err != nil {
		t.Fatal(err)
	}
	e.bind("bob", "browser", protocol.PushBind{Provider: "webpush", Token: wp.Subscribe(t)})
	if e.svc.PushCall(app, "bob", invite("PRIVATE1"), "") {
		t.Fatal("pushed to an endpoint on loopback without WebPushAllow")
	}
	wp.None(t, 200*time.Millisecond)
}
