package sqlite

import (
	"context"
	"testing"

	"github.com/duet-rtc/duet/server/store"
	"github.com/duet-rtc/duet/server/store/storetest"
)

// TestWebhooksEnqueued: the count grows by the deliveries a commit adds, not by its events:
// an app without endpoints adds none (and the server then leaves its outbox asleep).
func TestWebhooksEnqueued(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	ev := func(app, id string) store.WebhookEvent {
		return store.WebhookEvent{App: app, CallID: "c", EventID: id, Type: "call.x", Body: []byte(`{}`)}
	}
	if err := s.CommitCalls(ctx, store.CallBatch{Events: []store.WebhookEvent{ev("org#quiet", "e1")}}, t0); err != nil {
		t.Fatal(err)
	}
	if n := s.WebhooksEnqueued(); n != 0 {
		t.Fatalf("after an event of an app without endpoints: %d, want 0", n)
	}
	loud := storetest.CreateApp(t, s, "org#loud").Key
	for _, id := range []string{"h1", "h2"} {
		if err := s.PutWebhookEndpoint(ctx, store.WebhookEndpoint{App: loud, ID: id, URL: "https://a.example/" + id, Created: t0}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.CommitCalls(ctx, store.CallBatch{Events: []store.WebhookEvent{ev(loud, "e2"), ev("org#quiet", "e3")}}, t0); err != nil {
		t.Fatal(err)
	}
	if n := s.WebhooksEnqueued(); n != 2 {
		t.Fatalf("after an event for two endpoints: %d, want 2", n)
	}
	if _, err := s.EnqueueWebhookEvents(ctx, []store.WebhookEvent{ev(loud, "e4")}, t0); err != nil {
		t.Fatal(err)
	}
	if n := s.WebhooksEnqueued(); n != 4 {
		t.Fatalf("after EnqueueWebhookEvents: %d, want 4", n)
	}
}
