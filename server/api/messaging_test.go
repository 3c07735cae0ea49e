package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/duet-rtc/duet/internal/clock"
	"github.com/duet-rtc/duet/protocol"
	"github.com/duet-rtc/duet/server/account"
	"github.com/duet-rtc/duet/server/push/pushtest"
	"github.com/duet-rtc/duet/server/store"
	"github.com/duet-rtc/duet/server/store/sqlite"
)

type messagingEnv struct {
	st     *sqlite.Store
	client *AdminClient
	srv    *httptest.Server
	kicks  atomic.Int64
	app    store.App
}

func newMessagingEnv(t *testing.T) *messagingEnv {
	t.Helper()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "duet.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	clk := clock.NewFake(start)
	acct := account.New(st, clk)
	e := &messagingEnv{st: st}
	if e.app, err = acct.CreateApp(context.Background(), "o", "app", store.RegistrationOpen); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	a := New(acct, st, adminToken, nil)
	a.Routes(mux)
	a.MessagingRoutes(mux, Messaging{Push: st, Webhooks: st, KickWebhooks: func() { e.kicks.Add(1) }, Now: clk.Now})
	e.srv = httptest.NewServer(mux)
	t.Cleanup(e.srv.Close)
	e.client = &AdminClient{BaseURL: e.srv.URL, Token: adminToken}
	return e
}

func TestPushCredentialsAdmin(t *testing.T) {
	e := newMessagingEnv(t)
	ctx := context.Background()
	apns := pushtest.NewAPNs(t)
	got, err := e.client.SetPushCredentials(ctx, e.app.Key, "apns", apns.Credentials("com.example.duet"))
	if err != nil {
		t.Fatal(err)
	}
	if got.Provider != "apns" || got.Config["key"] != "(redacted)" || got.Config["teamId"] != apns.TeamID || got.Updated != start.UnixMilli() {
		t.Fatalf("reply %+v", got)
	}
	fcm := pushtest.NewFCM(t)
	if _, err := e.client.SetPushCredentials(ctx, e.app.Key, "fcm", fcm.Credentials()); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.SetPushCredentials(ctx, e.app.Key, "webhook", map[string]string{"url": "https://push.example/x", "secret": "0123456789abcdef0123"}); err != nil {
		t.Fatal(err)
	}
	list, err := e.client.ListPushCredentials(ctx, e.app.Key)
	if err != nil || len(list) != 3 {
		t.Fatalf("list %+v, %v", list, err)
	}
	raw, _ := json.Marshal(list)
	for _, secret := range []string{"PRIVATE KEY", "0123456789abcdef0123"} {
		if strings.Contains(string(raw), secret) {
			t.Fatalf("a secret leaked into GET: %s", raw)
		}
	}
	// A bad document is a 400 whose message quotes no secret.
	_, err = e.client.SetPushCredentials(ctx, e.app.Key, "apns", []byte(`{"authType":"certificate","certificate":"eA==","password":"hunter2-pw","topic":"t"}`))
	var ae *Error
	if !errors.As(err, &ae) || ae.Status != 400 || ae.Code != protocol.CodeBadMessage || strings.Contains(ae.Description, "hunter2") {
		t.Fatalf("bad credentials: %v", err)
	}
	if _, err := e.client.SetPushCredentials(ctx, e.app.Key, "gcm", []byte(`{}`)); protocol.CodeOf(err) != protocol.CodeBadMessage {
		t.Fatalf("unknown provider: %v", err)
	}
	if err := e.client.DeletePushCredentials(ctx, e.app.Key, "fcm"); err != nil {
		t.Fatal(err)
	}
	if err := e.client.DeletePushCredentials(ctx, e.app.Key, "fcm"); protocol.CodeOf(err) != protocol.CodeNotFound {
		t.Fatalf("second delete: %v", err)
	}
	if _, err := (&AdminClient{BaseURL: e.srv.URL, Token: "wrong"}).ListPushCredentials(ctx, e.app.Key); !errors.As(err, &ae) || ae.Status != 401 {
		t.Fatalf("wrong admin token: %v", err)
	}
	if _, err := e.client.ListPushCredentials(ctx, "o#nope"); protocol.CodeOf(err) != protocol.CodeInvalidAppKey {
		t.Fatalf("unknown app: %v", err)
	}
}

func TestWebhooksAdmin(t *testing.T) {
	e := newMessagingEnv(t)
	ctx := context.Background()
	w, err := e.client.SetWebhook(ctx, e.app.Key, "https://hooks.example/duet", "")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(w.ID, "wh_") || !strings.HasPrefix(w.Secret, "whsec_") {
		t.Fatalf("new webhook %+v", w)
	}
	// The same URL again updates it; a given secret is not echoed.
	w2, err := e.client.SetWebhook(ctx, e.app.Key, "https://hooks.example/duet", "my-own-secret-0123456789")
	if err != nil || w2.ID != w.ID || w2.Secret != "" {
		t.Fatalf("update %+v, %v", w2, err)
	}
	eps, _ := e.st.ListWebhookEndpoints(ctx, e.app.Key)
	if len(eps) != 1 || eps[0].Secret != "my-own-secret-0123456789" {
		t.Fatalf("stored %+v", eps)
	}
	list, err := e.client.ListWebhooks(ctx, e.app.Key)
	if err != nil || len(list) != 1 || list[0].Secret != "" || list[0].URL != "https://hooks.example/duet" {
		t.Fatalf("list %+v, %v", list, err)
	}
	for _, bad := range []NewWebhook{{URL: "ftp://x"}, {URL: "/relative"}, {URL: "https://x", Secret: "short"}} {
		if _, err := e.client.SetWebhook(ctx, e.app.Key, bad.URL, bad.Secret); protocol.CodeOf(err) != protocol.CodeUserIllegalArgument {
			t.Errorf("%+v: %v", bad, err)
		}
	}

	// Dead letters: seed one through the store, list it, retry it.
	if _, err := e.st.EnqueueWebhookEvents(ctx, []store.WebhookEvent{{App: e.app.Key, CallID: "c1", EventID: "c1-1", Type: "call.invited", Body: []byte(`{"id":"c1-1"}`)}}, start); err != nil {
		t.Fatal(err)
	}
	due, _ := e.st.DueWebhookDeliveries(ctx, start, 10)
	if err := e.st.MarkWebhookFailed(ctx, due[0].ID, 12, start, true, "HTTP 500", start); err != nil {
		t.Fatal(err)
	}
	dead, err := e.client.DeadLetters(ctx, e.app.Key, 0)
	if err != nil || len(dead) != 1 || dead[0].EventID != "c1-1" || dead[0].LastError != "HTTP 500" || dead[0].Attempts != 12 || string(dead[0].Body) != `{"id":"c1-1"}` {
		t.Fatalf("dead letters %+v, %v", dead, err)
	}
	n, err := e.client.RetryDeadLetters(ctx, e.app.Key)
	if err != nil || n != 1 || e.kicks.Load() != 1 {
		t.Fatalf("retry = %d, %v (kicks %d)", n, err, e.kicks.Load())
	}
	if dead, _ := e.client.DeadLetters(ctx, e.app.Key, 10); len(dead) != 0 {
		t.Fatalf("still dead: %+v", dead)
	}
	// One by id: 404 while it is not dead (or not a number), retried once it is.
	if err := e.client.RetryDeadLetter(ctx, e.app.Key, dead[0].ID); protocol.CodeOf(err) != protocol.CodeNotFound {
		t.Fatalf("retry of a pending delivery: %v, want 907", err)
	}
	if err := e.st.MarkWebhookFailed(ctx, dead[0].ID, 12, start, true, "HTTP 500", start); err != nil {
		t.Fatal(err)
	}
	if err := e.client.RetryDeadLetter(ctx, e.app.Key, dead[0].ID); err != nil || e.kicks.Load() != 2 {
		t.Fatalf("retry one: %v (kicks %d)", err, e.kicks.Load())
	}
	if dead, _ := e.client.DeadLetters(ctx, e.app.Key, 10); len(dead) != 0 {
		t.Fatalf("still dead after retrying it: %+v", dead)
	}
	if err := e.client.DeleteWebhook(ctx, e.app.Key, w.ID); err != nil {
		t.Fatal(err)
	}
	if err := e.client.DeleteWebhook(ctx, e.app.Key, w.ID); protocol.CodeOf(err) != protocol.CodeNotFound {
		t.Fatalf("second delete: %v", err)
	}
}
