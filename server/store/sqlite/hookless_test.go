package sqlite

import (
	"context"
	"testing"

	"github.com/duet-rtc/duet/server/store"
	"github.com/duet-rtc/duet/server/store/storetest"
)

// TestHooklessApps: an app whose events fanned out to no endpoint is skipped by later
// commits, until an endpoint is added (the app's next event reaches it, whatever the case
// of its key); and what a commit learnt under an older generation is not kept, so that a
// commit racing the endpoint's addition cannot hide it.
func TestHooklessApps(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	app := storetest.CreateApp(t, s, "org#late").Key
	ev := func(id string) store.WebhookEvent {
		return store.WebhookEvent{App: app, CallID: "c", EventID: id, Type: "call.x", Body: []byte(`{}`)}
	}
	if err := s.CommitCalls(ctx, store.CallBatch{Events: []store.WebhookEvent{ev("e1")}}, t0); err != nil {
		t.Fatal(err)
	}
	if !s.hookless.has("ORG#LATE") {
		t.Fatal("an app without endpoints was not remembered")
	}
	if err := s.PutWebhookEndpoint(ctx, store.WebhookEndpoint{App: app, ID: "h1", URL: "https://a.example/h", Created: t0}); err != nil {
		t.Fatal(err)
	}
	if s.hookless.has(app) {
		t.Fatal("still taken as hookless after an endpoint was added")
	}
	if err := s.CommitCalls(ctx, store.CallBatch{Events: []store.WebhookEvent{ev("e2")}}, t0); err != nil {
		t.Fatal(err)
	}
	if n := s.WebhooksEnqueued(); n != 1 {
		t.Fatalf("deliveries after the endpoint was added: %d, want 1", n)
	}
	gen := s.hookless.generation()
	s.hookless.forget() // an endpoint written while a commit ran
	s.hookless.learn(gen, []string{"org#other"})
	if s.hookless.has("org#other") {
		t.Fatal("a commit's finding from before an endpoint write was kept")
	}
}
