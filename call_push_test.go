package duet_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/duet-rtc/duet"
	"github.com/duet-rtc/duet/internal/clock"
	"github.com/duet-rtc/duet/internal/leaktest"
	"github.com/duet-rtc/duet/server"
	"github.com/duet-rtc/duet/server/api"
	"github.com/duet-rtc/duet/server/push/pushtest"
	"github.com/duet-rtc/duet/server/servertest"
)

// pushEnv is a server whose demo app pushes through a local APNs server; bob's phone has
// bound a VoIP token and an alert token, then gone offline.
type pushEnv struct {
	srv  *servertest.Server
	apns *pushtest.APNs
}

const bundle = "com.example.duet"

func newPushEnv(t *testing.T, opts ...servertest.Option) *pushEnv {
	t.Helper()
	apns := pushtest.NewAPNs(t)
	opts = append(opts, func(c *server.Config) { c.OutboundTLS = pushtest.TLSConfig(apns.Server) })
	srv := servertest.Start(t, opts...)
	admin := &api.AdminClient{BaseURL: srv.URL, Token: srv.AdminToken()}
	if _, err := admin.SetPushCredentials(ctxT(t), srv.AppKey, "apns", apns.Credentials(bundle)); err != nil {
		t.Fatal(err)
	}
	bob, _ := newClient(t, srv, "bob", func(o *duet.Options) { o.DeviceID = "bob-phone" })
	if err := bob.BindDeviceToken(ctxT(t), duet.PushProviderAPNs, "f00dvoip", duet.WithVoIP()); err != nil {
		t.Fatal(err)
	}
	if err := bob.BindDeviceToken(ctxT(t), duet.PushProviderAPNs, "f00dalert"); err != nil {
		t.Fatal(err)
	}
	if err := bob.Logout(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	return &pushEnv{srv: srv, apns: apns}
}

// caller logs alice in with push for offline callees on or off.
func (e *pushEnv) caller(t *testing.T, push bool) (*duet.Client, *recorder) {
	t.Helper()
	alice, rec := newClient(t, e.srv, "alice")
	o := alice.CallManager().CallOptions()
	o.IsSendPushIfOffline = push
	o.OfflineMessageText = "Alice is calling"
	if err := alice.CallManager().SetCallOptions(o); err != nil {
		t.Fatal(err)
	}
	return alice, rec
}

// callee logs bob in again on the phone that was pushed.
func (e *pushEnv) callee(t *testing.T) (*duet.Client, *recorder) {
	t.Helper()
	return newClient(t, e.srv, "bob", func(o *duet.Options) { o.DeviceID = "bob-phone" })
}

func TestOfflineCallPushOff(t *testing.T) {
	e := newPushEnv(t)
	alice, rec := e.caller(t, false)
	if _, err := alice.CallManager().StartCall(ctxT(t), duet.CallTypeVoice, "bob", ""); duet.ErrorCodeOf(err) != duet.ErrorCallRemoteOffline {
		t.Fatalf("StartCall: %v, want CallRemoteOffline", err)
	}
	e.apns.None(t, 200*time.Millisecond)
	if rec.has("offline") {
		t.Fatal("CallRemoteOffline fired without push")
	}
}

// TestOfflineCallPushedAndAnswered: the VoIP push reaches APNs, the caller gets
// CallRemoteOffline, bob logs in while it rings, receives the call and answers; the other
// side of the push (a cancel) does not go to the device that answered.
func TestOfflineCallPushedAndAnswered(t *testing.T) {
	leaktest.Check(t)
	e := newPushEnv(t)
	alice, recA := e.caller(t, true)
	s, err := alice.CallManager().StartCall(ctxT(t), duet.CallTypeVoice, "bob", "nick=Alice")
	if err != nil {
		t.Fatal(err)
	}
	p := e.apns.Wait(t, 10*time.Second)
	if p.Token != "f00dvoip" || p.Topic != bundle+".voip" || p.PushType != "voip" || p.Priority != "10" || p.Expiration.IsZero() {
		t.Fatalf("push %+v", p)
	}
	d := p.Payload["duet"].(map[string]any)
	if d["type"] != "call.incoming" || d["callId"] != s.CallID() || d["from"] != "alice" || d["text"] != "Alice is calling" || d["ext"] != "nick=Alice" {
		t.Fatalf("payload %v", d)
	}
	e.apns.None(t, 100*time.Millisecond) // no alert to the phone that has a VoIP token
	recA.wait(t, "offline")

	bob, recB := e.callee(t)
	in := recB.wait(t, "receive").session
	if in.CallID() != s.CallID() || in.RemoteName() != "alice" {
		t.Fatalf("incoming %s from %s", in.CallID(), in.RemoteName())
	}
	if err := bob.CallManager().AnswerIncomingCall(ctxT(t), in.CallID()); err != nil {
		t.Fatal(err)
	}
	recA.wait(t, "accept")
	if err := alice.CallManager().EndCall(ctxT(t), s.CallID(), duet.EndReasonHangup); err != nil {
		t.Fatal(err)
	}
	if e := recB.wait(t, "end"); e.reason != duet.EndReasonHangup {
		t.Fatalf("bob's end reason %v", e.reason)
	}
	e.apns.None(t, 300*time.Millisecond) // bob-phone answered: no cancel for it
}

// TestOfflineCallNoResponse: nobody comes; the ring timer (on a fake clock) ends the call
// NoResponse and a cancel push follows.
func TestOfflineCallNoResponse(t *testing.T) {
	fake := clock.NewFake(time.Now())
	e := newPushEnv(t, servertest.WithClock(fake))
	alice, recA := e.caller(t, true)
	if _, err := alice.CallManager().StartCall(ctxT(t), duet.CallTypeVideo, "bob", ""); err != nil {
		t.Fatal(err)
	}
	e.apns.Wait(t, 10*time.Second)
	recA.wait(t, "offline")
	fake.Advance(45 * time.Second)
	if ev := recA.wait(t, "end"); ev.reason != duet.EndReasonNoResponse {
		t.Fatalf("end reason %v, want NoResponse", ev.reason)
	}
	c := e.apns.Wait(t, 10*time.Second)
	// The cancel is an alert on the phone's alert token: never a VoIP push, which must
	// report a call to CallKit.
	if d := c.Payload["duet"].(map[string]any); d["type"] != "call.cancel" || d["reason"] != "1" || c.PushType != "alert" {
		t.Fatalf("cancel %+v", c)
	}
}

// TestOfflineCallCancelled: the caller cancels while it rings; the cancel push goes out and
// bob, logging in afterwards, is not rung.
func TestOfflineCallCancelled(t *testing.T) {
	e := newPushEnv(t)
	alice, recA := e.caller(t, true)
	s, err := alice.CallManager().StartCall(ctxT(t), duet.CallTypeVoice, "bob", "")
	if err != nil {
		t.Fatal(err)
	}
	e.apns.Wait(t, 10*time.Second)
	recA.wait(t, "offline")
	if err := alice.CallManager().EndCall(ctxT(t), s.CallID(), duet.EndReasonHangup); err != nil {
		t.Fatal(err)
	}
	c := e.apns.Wait(t, 10*time.Second)
	if d := c.Payload["duet"].(map[string]any); d["type"] != "call.cancel" || d["callId"] != s.CallID() {
		t.Fatalf("cancel %+v", c)
	}
	_, recB := e.callee(t)
	time.Sleep(500 * time.Millisecond)
	if recB.has("receive") {
		t.Fatal("a cancelled call rang bob after his login")
	}
}

// TestOfflineMessageAlert: a text message to offline bob becomes an alert on his plain
// APNs token, with the title and sound from the seed's em_apns_ext.
func TestOfflineMessageAlert(t *testing.T) {
	e := newPushEnv(t)
	alice, _ := e.caller(t, true)
	ext := map[string]any{"em_apns_ext": map[string]any{"em_push_title": "You have an incoming call", "em_push_sound": "ring.caf"},
		"em_push_ext": map[string]any{"type": "call"}}
	if _, err := alice.ChatManager().SendMessage(ctxT(t), "bob", "call me back", ext); err != nil {
		t.Fatal(err)
	}
	p := e.apns.Wait(t, 10*time.Second)
	aps := p.Payload["aps"].(map[string]any)
	alert := aps["alert"].(map[string]any)
	if p.Token != "f00dalert" || p.PushType != "alert" || p.Topic != bundle || alert["title"] != "You have an incoming call" ||
		alert["body"] != "call me back" || aps["sound"] != "ring.caf" {
		t.Fatalf("alert %+v", p)
	}
}

// TestCallWebhooks: a webhook endpoint of the app receives a call's events in order, signed;
// it is down at first and the outbox retries until it is up.
func TestCallWebhooks(t *testing.T) {
	leaktest.Check(t)
	rcv := pushtest.NewReceiver(t, "webhook-secret-0123456789")
	srv := servertest.Start(t, func(c *server.Config) {
		c.OutboundTLS = pushtest.TLSConfig(rcv.Server)
		c.WebhookMinBackoff, c.WebhookMaxBackoff = 50*time.Millisecond, 200*time.Millisecond
	})
	admin := &api.AdminClient{BaseURL: srv.URL, Token: srv.AdminToken()}
	if _, err := admin.SetWebhook(ctxT(t), srv.AppKey, rcv.URL+"/duet", rcv.Secret); err != nil {
		t.Fatal(err)
	}
	rcv.Down.Store(true)
	alice, recA := newClient(t, srv, "alice")
	bob, recB := newClient(t, srv, "bob")
	s, _ := answeredCall(t, alice, recA, bob, recB, "bob")
	if err := alice.CallManager().EndCall(ctxT(t), s.CallID(), duet.EndReasonHangup); err != nil {
		t.Fatal(err)
	}
	recB.wait(t, "end")
	time.Sleep(300 * time.Millisecond) // a few refused attempts
	rcv.Down.Store(false)
	var types []string
	for len(types) < 5 {
		h := rcv.Wait(t, 10*time.Second)
		if h.JSON["callId"] != s.CallID() {
			t.Fatalf("event of another call: %s", h.Body)
		}
		if int(h.JSON["seq"].(float64)) != len(types)+1 || h.EventID != h.JSON["id"] {
			t.Fatalf("event %d out of order: %s", len(types)+1, h.Body)
		}
		types = append(types, h.Event)
	}
	// The transport report (connected) and the answer (accepted) race each other.
	if types[2] == "call.accepted" {
		types[2], types[3] = types[3], types[2]
	}
	want := []string{"call.invited", "call.ringing", "call.connected", "call.accepted", "call.ended"}
	if b, _ := json.Marshal(types); string(b) != mustJSON(want) {
		t.Fatalf("events %v, want %v (connected and accepted in either order)", types, want)
	}
	if rcv.BadSignatures.Load() != 0 || rcv.Requests.Load() <= 5 {
		t.Fatalf("%d requests, %d bad signatures", rcv.Requests.Load(), rcv.BadSignatures.Load())
	}
	last := rcv.Hooks()[4].JSON["data"].(map[string]any)
	if rec, _ := last["record"].(map[string]any); rec == nil || rec["calleeDevice"] == "" || rec["endedBy"] != "alice" {
		t.Fatalf("ended event data %v", last)
	}
}

func mustJSON(v any) string { b, _ := json.Marshal(v); return string(b) }
