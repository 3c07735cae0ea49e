package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/duet-rtc/duet/server/store"
)

func testMessagesSeqAndIdempotency(t *testing.T, s store.Backend) {
	ctx := context.Background()
	app := CreateApp(t, s, "org#app")
	if err := s.CreateUsers(ctx, []store.User{User(app.Key, "alice"), User(app.Key, "bob")}); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		m := msg(app.Key, fmt.Sprintf("m%d", i), "alice", "bob", fmt.Sprintf("hi %d", i))
		if i == 2 {
			m.Ext = []byte(`{"k":1}`)
		}
		got, dup, err := s.AddMessage(ctx, m)
		if err != nil || dup || got.Seq != int64(i) {
			t.Fatalf("AddMessage %d = seq %d dup %v, %v", i, got.Seq, dup, err)
		}
	}
	// The same id again is the same message; with other content it is a conflict.
	again, dup, err := s.AddMessage(ctx, msg(app.Key, "m1", "alice", "bob", "hi 1"))
	if err != nil || !dup || again.Seq != 1 {
		t.Fatalf("resend = seq %d dup %v, %v", again.Seq, dup, err)
	}
	if _, _, err := s.AddMessage(ctx, msg(app.Key, "m1", "alice", "bob", "other")); !errors.Is(err, store.ErrDuplicate) {
		t.Fatalf("reused id: %v, want ErrDuplicate", err)
	}
	// Another sender may use the same id.
	if got, _, err := s.AddMessage(ctx, msg(app.Key, "m1", "bob", "alice", "yo")); err != nil || got.Seq != 1 {
		t.Fatalf("bob's m1 = %d, %v", got.Seq, err)
	}
	if _, _, err := s.AddMessage(ctx, msg(app.Key, "x", "alice", "nobody", "?")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown recipient: %v", err)
	}

	list, err := s.Messages(ctx, app.Key, "bob", 1, 10)
	if err != nil || len(list) != 2 || list[0].Seq != 2 || string(list[0].Ext) != `{"k":1}` || list[1].Ext != nil {
		t.Fatalf("Messages = %+v, %v", list, err)
	}
	acked, last, err := s.DeliveryState(ctx, app.Key, "bob", "phone")
	if err != nil || acked != 0 || last != 3 {
		t.Fatalf("DeliveryState = %d %d %v", acked, last, err)
	}
	if err := s.AckMessages(ctx, app.Key, "bob", "phone", 2, t0); err != nil {
		t.Fatal(err)
	}
	if err := s.AckMessages(ctx, app.Key, "bob", "phone", 1, t0); err != nil { // never lowers
		t.Fatal(err)
	}
	if acked, _, _ := s.DeliveryState(ctx, app.Key, "bob", "phone"); acked != 2 {
		t.Fatalf("acked = %d, want 2", acked)
	}
	if err := s.AckMessages(ctx, app.Key, "ghost", "phone", 1, t0); err != nil {
		t.Fatalf("ack of an unknown user: %v", err)
	}

	// Pruning removes old messages but never reuses a seq.
	n, err := s.PruneMessages(ctx, t0.Add(time.Millisecond))
	if err != nil || n != 4 {
		t.Fatalf("PruneMessages = %d, %v", n, err)
	}
	m4, _, err := s.AddMessage(ctx, msg(app.Key, "m4", "alice", "bob", "after prune"))
	if err != nil || m4.Seq != 4 {
		t.Fatalf("seq after prune = %d, %v", m4.Seq, err)
	}
	if acked, _, _ := s.DeliveryState(ctx, app.Key, "bob", "phone"); acked != 0 {
		t.Fatalf("cursor not pruned: %d", acked)
	}
	// Deleting the user deletes the mailbox.
	if err := s.DeleteUser(ctx, app.Key, "bob"); err != nil {
		t.Fatal(err)
	}
	if _, last, _ := s.DeliveryState(ctx, app.Key, "bob", "phone"); last != 0 {
		t.Fatalf("mailbox outlived its user: last %d", last)
	}
}

func testPushBindings(t *testing.T, s store.Backend) {
	ctx := context.Background()
	app := CreateApp(t, s, "org#app")
	if err := s.CreateUsers(ctx, []store.User{User(app.Key, "alice"), User(app.Key, "bob")}); err != nil {
		t.Fatal(err)
	}
	bind := func(u, dev, provider, token string, voip bool) {
		t.Helper()
		if err := s.BindPushToken(ctx, store.PushBinding{App: app.Key, User: u, Device: dev, Provider: provider,
			Token: token, VoIP: voip, Updated: t0}); err != nil {
			t.Fatalf("bind %s: %v", token, err)
		}
	}
	bind("alice", "phone", "apns", "alert1", false)
	bind("alice", "phone", "apns", "voip1", true)
	bind("alice", "phone", "apns", "alert2", false) // replaces alert1
	bind("alice", "tab", "fcm", "f1", false)
	bind("bob", "phone", "fcm", "f1", false) // the token moves to bob
	list, err := s.PushBindings(ctx, app.Key, "alice")
	if err != nil || len(list) != 2 || list[0].Token != "alert2" || list[1].Token != "voip1" || !list[1].VoIP {
		t.Fatalf("alice's bindings = %+v, %v", list, err)
	}
	if err := s.BindPushToken(ctx, store.PushBinding{App: app.Key, User: "ghost", Device: "d", Provider: "fcm", Token: "t"}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("bind for an unknown user: %v", err)
	}
	if n, err := s.UnbindPushTokens(ctx, app.Key, "alice", "phone", "apns", "voip1"); err != nil || n != 1 {
		t.Fatalf("unbind one = %d, %v", n, err)
	}
	if err := s.RemovePushToken(ctx, app.Key, "fcm", "f1"); err != nil {
		t.Fatal(err)
	}
	if list, _ := s.PushBindings(ctx, app.Key, "bob"); len(list) != 0 {
		t.Fatalf("removed token still bound: %+v", list)
	}
	if n, err := s.UnbindPushTokens(ctx, app.Key, "alice", "phone", "", ""); err != nil || n != 1 {
		t.Fatalf("unbind all = %d, %v", n, err)
	}

	c := store.PushCredentials{App: app.Key, Provider: "apns", Config: []byte(`{"keyId":"K"}`), Updated: t0}
	if err := s.PutPushCredentials(ctx, c); err != nil {
		t.Fatal(err)
	}
	c.Config = []byte(`{"keyId":"K2"}`)
	if err := s.PutPushCredentials(ctx, c); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetPushCredentials(ctx, app.Key, "apns")
	if err != nil || string(got.Config) != `{"keyId":"K2"}` || !got.Updated.Equal(t0) {
		t.Fatalf("GetPushCredentials = %+v, %v", got, err)
	}
	if added, err := s.AddPushCredentials(ctx, store.PushCredentials{App: app.Key, Provider: "apns", Config: []byte(`{"keyId":"K3"}`), Updated: t0}); err != nil || added {
		t.Fatalf("AddPushCredentials over existing ones = %v, %v; want false", added, err)
	}
	if got, _ := s.GetPushCredentials(ctx, app.Key, "apns"); string(got.Config) != `{"keyId":"K2"}` {
		t.Fatalf("AddPushCredentials replaced %s", got.Config)
	}
	if _, err := s.AddPushCredentials(ctx, store.PushCredentials{App: "no#app", Provider: "fcm", Config: []byte("{}")}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("AddPushCredentials for an unknown app: %v", err)
	}
	if err := s.PutPushCredentials(ctx, store.PushCredentials{App: "no#app", Provider: "fcm", Config: []byte("{}")}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("credentials for an unknown app: %v", err)
	}
	if all, err := s.ListPushCredentials(ctx, app.Key); err != nil || len(all) != 1 {
		t.Fatalf("ListPushCredentials = %v, %v", all, err)
	}
	if err := s.DeletePushCredentials(ctx, app.Key, "apns"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetPushCredentials(ctx, app.Key, "apns"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleted credentials: %v", err)
	}
}

func testWebhookOutbox(t *testing.T, s store.Backend) {
	ctx := context.Background()
	app := CreateApp(t, s, "org#app")
	other := CreateApp(t, s, "org#other")
	for _, e := range []store.WebhookEndpoint{
		{App: app.Key, ID: "e1", URL: "https://a.example/hook", Secret: "s1", Created: t0},
		{App: app.Key, ID: "e2", URL: "https://b.example/hook", Secret: "s2", Created: t0.Add(time.Millisecond)},
	} {
		if err := s.PutWebhookEndpoint(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.PutWebhookEndpoint(ctx, store.WebhookEndpoint{App: app.Key, ID: "e3", URL: "https://a.example/hook"}); !errors.Is(err, store.ErrDuplicate) {
		t.Fatalf("duplicate url: %v", err)
	}
	ev := func(call string, n int) store.WebhookEvent {
		return store.WebhookEvent{App: app.Key, CallID: call, EventID: fmt.Sprintf("%s-%d", call, n), Type: "call.x", Body: []byte("{}")}
	}
	n, err := s.EnqueueWebhookEvents(ctx, []store.WebhookEvent{ev("c1", 1), ev("c2", 1), ev("c1", 2),
		{App: other.Key, CallID: "z", EventID: "z-1", Type: "call.x", Body: []byte("{}")}}, t0)
	if err != nil || n != 6 {
		t.Fatalf("enqueue = %d, %v (want 6: 3 events × 2 endpoints, none for the other app)", n, err)
	}
	due, err := s.DueWebhookDeliveries(ctx, t0, 100)
	if err != nil {
		t.Fatal(err)
	}
	// Heads only: c1-1 and c2-1 for each endpoint; c1-2 waits for c1-1.
	var got []string
	for _, d := range due {
		got = append(got, d.Endpoint+":"+d.EventID)
	}
	if fmt.Sprint(got) != "[e1:c1-1 e2:c1-1 e1:c2-1 e2:c2-1]" {
		t.Fatalf("due = %v", got)
	}
	if due[0].URL != "https://a.example/hook" || due[0].Secret != "s1" {
		t.Fatalf("delivery lacks its endpoint: %+v", due[0])
	}
	if err := s.MarkWebhookDelivered(ctx, due[0].ID, t0); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkWebhookFailed(ctx, due[1].ID, 1, t0.Add(time.Minute), false, "HTTP 503", t0); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkWebhookFailed(ctx, due[2].ID, 5, t0, true, "HTTP 500", t0); err != nil {
		t.Fatal(err)
	}
	due, _ = s.DueWebhookDeliveries(ctx, t0, 100)
	got = got[:0]
	for _, d := range due {
		got = append(got, d.Endpoint+":"+d.EventID)
	}
	// e1: c1-2 is now the head; e2: c1-1 waits a minute, so c1-2 stays behind it.
	if fmt.Sprint(got) != "[e2:c2-1 e1:c1-2]" {
		t.Fatalf("due after marks = %v", got)
	}
	// The earliest head is e2:c2-1 (due now); e2:c1-2 is due too but waits behind e2:c1-1.
	if next, ok, err := s.NextWebhookDue(ctx); err != nil || !ok || !next.Equal(t0) {
		t.Fatalf("NextWebhookDue = %v %v %v", next, ok, err)
	}
	for _, d := range due {
		if err := s.MarkWebhookDelivered(ctx, d.ID, t0); err != nil {
			t.Fatal(err)
		}
	}
	// Only e2:c1-1 (retry in a minute) heads a queue now; e2:c1-2 behind it does not count.
	if next, ok, err := s.NextWebhookDue(ctx); err != nil || !ok || !next.Equal(t0.Add(time.Minute)) {
		t.Fatalf("NextWebhookDue with a waiting head = %v %v %v", next, ok, err)
	}
	dead, err := s.ListWebhookDeliveries(ctx, app.Key, store.DeliveryDead, 10)
	if err != nil || len(dead) != 1 || dead[0].LastError != "HTTP 500" || dead[0].Attempts != 5 {
		t.Fatalf("dead letters = %+v, %v", dead, err)
	}
	// One dead letter by id: not through another app, not a delivery that is not dead.
	if ok, err := s.RetryDeadWebhook(ctx, "other#app", dead[0].ID, t0); err != nil || ok {
		t.Fatalf("RetryDeadWebhook of another app = %v, %v", ok, err)
	}
	if ok, err := s.RetryDeadWebhook(ctx, app.Key, due[0].ID, t0); err != nil || ok {
		t.Fatalf("RetryDeadWebhook of a delivered one = %v, %v", ok, err)
	}
	if ok, err := s.RetryDeadWebhook(ctx, app.Key, dead[0].ID, t0); err != nil || !ok {
		t.Fatalf("RetryDeadWebhook = %v, %v", ok, err)
	}
	if again, err := s.ListWebhookDeliveries(ctx, app.Key, store.DeliveryDead, 10); err != nil || len(again) != 0 {
		t.Fatalf("dead letters after retrying the one = %+v, %v", again, err)
	}
	if err := s.MarkWebhookFailed(ctx, dead[0].ID, 5, t0, true, "HTTP 500", t0); err != nil {
		t.Fatal(err)
	}
	if k, err := s.RetryDeadWebhooks(ctx, app.Key, t0); err != nil || k != 1 {
		t.Fatalf("RetryDeadWebhooks = %d, %v", k, err)
	}
	if k, err := s.PruneWebhookDeliveries(ctx, t0.Add(time.Millisecond)); err != nil || k != 3 {
		t.Fatalf("PruneWebhookDeliveries = %d, %v", k, err)
	}
	if err := s.DeleteWebhookEndpoint(ctx, app.Key, "e2"); err != nil {
		t.Fatal(err)
	}
	due, _ = s.DueWebhookDeliveries(ctx, t0.Add(time.Hour), 100)
	for _, d := range due {
		if d.Endpoint == "e2" {
			t.Fatalf("a deleted endpoint's delivery is still queued: %+v", d)
		}
	}
	if eps, err := s.ListWebhookEndpoints(ctx, app.Key); err != nil || len(eps) != 1 {
		t.Fatalf("endpoints = %v, %v", eps, err)
	}
}
