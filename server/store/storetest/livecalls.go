package storetest

import (
	"bytes"
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/duet-rtc/duet/server/store"
)

// LiveCall makes a live call with every field set, invited at at (whole milliseconds).
func LiveCall(app, id string, at time.Time) store.LiveCall {
	return store.LiveCall{
		ID: id, App: app, Caller: "alice", CallerDevice: "phone", Callee: "bob", Type: 1, Ext: `{"x":1}`,
		Record: true, MergeStream: true, State: 1, Answered: "bob-tab",
		Legs: []byte(`[{"device":"bob-tab"}]`), ICE: []byte(`{"caller":[],"callee":[]}`),
		InvitedAt: at, RingingAt: at.Add(10 * time.Millisecond), ConnectedAt: at.Add(20 * time.Millisecond),
		AcceptedAt: at.Add(30 * time.Millisecond), ConnectType: 2, RingDeadline: at.Add(45 * time.Second),
		CallerGrace: at.Add(time.Minute), CalleeGrace: at.Add(2 * time.Minute), Events: 3, Updated: at.Add(time.Second),
	}
}

// testLiveCallsFieldForField saves live calls and reads them back: every field as saved,
// times at millisecond precision in UTC (whatever zone they were given in), zero times
// zero, oldest invite first; saving again replaces.
func testLiveCallsFieldForField(t *testing.T, s store.Backend) {
	ctx := context.Background()
	full := LiveCall("org#app", "c2", t0.Add(time.Second))
	zone := time.FixedZone("east", 5*3600)
	withZone := full
	withZone.InvitedAt = full.InvitedAt.In(zone).Add(999 * time.Microsecond) // sub-ms is dropped
	withZone.Updated = full.Updated.In(zone)
	bare := store.LiveCall{App: "org#app", ID: "c1", Caller: "carol", Callee: "dave", InvitedAt: t0}
	if err := s.CommitCalls(ctx, store.CallBatch{Save: []store.LiveCall{withZone, bare}}, t0); err != nil {
		t.Fatal(err)
	}
	got, err := s.LiveCalls(ctx)
	if err != nil || len(got) != 2 {
		t.Fatalf("LiveCalls = %d calls, %v", len(got), err)
	}
	if !reflect.DeepEqual(got[1], full) {
		t.Errorf("LiveCalls()[1] =\n%+v\nwant\n%+v", got[1], full)
	}
	if got[1].InvitedAt.Location() != time.UTC {
		t.Errorf("time in %v, want UTC", got[1].InvitedAt.Location())
	}
	b := got[0]
	if b.ID != "c1" || !b.InvitedAt.Equal(t0) || !b.RingingAt.IsZero() || !b.RingDeadline.IsZero() || len(b.Legs) != 0 || len(b.ICE) != 0 {
		t.Errorf("bare live call = %+v", b)
	}
	full.State, full.Events = 0, 4
	if err := s.CommitCalls(ctx, store.CallBatch{Save: []store.LiveCall{full}}, t0); err != nil {
		t.Fatal(err)
	}
	got, _ = s.LiveCalls(ctx)
	if len(got) != 2 || got[1].State != 0 || got[1].Events != 4 {
		t.Errorf("after a second save: %+v", got)
	}
}

// withEndpoint makes an app with one webhook endpoint, so that events become deliveries.
func withEndpoint(t *testing.T, s store.Backend) string {
	t.Helper()
	app := CreateApp(t, s, "org#app").Key
	if err := s.PutWebhookEndpoint(context.Background(), store.WebhookEndpoint{App: app, ID: "e1",
		URL: "https://a.example/hook", Secret: "s", Created: t0}); err != nil {
		t.Fatal(err)
	}
	return app
}

func event(app, call, id string) store.WebhookEvent {
	return store.WebhookEvent{App: app, CallID: call, EventID: id, Type: "call.x", Body: []byte(`{"e":"` + id + `"}`)}
}

// testCommitCallsSaveThenEnd: a call saved and ended in one batch is only a record, and
// the batch's events are deliveries in order.
func testCommitCallsSaveThenEnd(t *testing.T, s store.Backend) {
	ctx := context.Background()
	app := withEndpoint(t, s)
	keep := LiveCall(app, "keep", t0)
	gone := LiveCall(app, "gone", t0)
	rec := Call(app, "gone", "alice", "bob", t0)
	b := store.CallBatch{
		Save:   []store.LiveCall{keep, gone},
		End:    []store.CallRecord{rec},
		Events: []store.WebhookEvent{event(app, "gone", "ev1"), event(app, "gone", "ev2"), event(app, "keep", "ev3")},
	}
	if err := s.CommitCalls(ctx, b, t0); err != nil {
		t.Fatal(err)
	}
	live, err := s.LiveCalls(ctx)
	if err != nil || len(live) != 1 || live[0].ID != "keep" {
		t.Fatalf("LiveCalls = %+v, %v; want only keep", live, err)
	}
	if got, err := s.GetCall(ctx, app, "gone"); err != nil || got != rec {
		t.Fatalf("record = %+v, %v", got, err)
	}
	ds, err := s.ListWebhookDeliveries(ctx, app, store.DeliveryPending, 10)
	if err != nil || len(ds) != 3 {
		t.Fatalf("deliveries = %+v, %v", ds, err)
	}
	// Newest first: ids grow in the events' order.
	if ds[0].EventID != "ev3" || ds[2].EventID != "ev1" || !(ds[2].ID < ds[1].ID && ds[1].ID < ds[0].ID) {
		t.Fatalf("deliveries out of order: %+v", ds)
	}
	if !ds[0].NextAt.Equal(t0) || !bytes.Equal(ds[2].Body, []byte(`{"e":"ev1"}`)) {
		t.Fatalf("delivery = %+v", ds[2])
	}
}

// testCommitCallsAtomic: a batch whose last statement fails (an event without a body, which
// the outbox refuses) leaves nothing of itself: no live call saved or deleted, no record,
// no delivery.
func testCommitCallsAtomic(t *testing.T, s store.Backend) {
	ctx := context.Background()
	app := withEndpoint(t, s)
	before := LiveCall(app, "before", t0)
	if err := s.CommitCalls(ctx, store.CallBatch{Save: []store.LiveCall{before}}, t0); err != nil {
		t.Fatal(err)
	}
	bad := event(app, "before", "bad")
	bad.Body = nil
	b := store.CallBatch{
		Save:   []store.LiveCall{LiveCall(app, "new", t0.Add(time.Second))},
		End:    []store.CallRecord{Call(app, "before", "alice", "bob", t0)},
		Events: []store.WebhookEvent{event(app, "before", "ok"), bad},
	}
	if err := s.CommitCalls(ctx, b, t0); err == nil {
		t.Fatal("CommitCalls with an event without body succeeded")
	}
	assertUnchanged(t, s, app, before)
}

// testCommitCallsCancelled: a batch under a cancelled context writes nothing.
func testCommitCallsCancelled(t *testing.T, s store.Backend) {
	app := withEndpoint(t, s)
	before := LiveCall(app, "before", t0)
	if err := s.CommitCalls(context.Background(), store.CallBatch{Save: []store.LiveCall{before}}, t0); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	b := store.CallBatch{
		Save:   []store.LiveCall{LiveCall(app, "new", t0)},
		End:    []store.CallRecord{Call(app, "before", "alice", "bob", t0)},
		Events: []store.WebhookEvent{event(app, "before", "ev")},
	}
	if err := s.CommitCalls(ctx, b, t0); !errors.Is(err, context.Canceled) {
		t.Fatalf("CommitCalls with a cancelled context = %v; want context.Canceled", err)
	}
	assertUnchanged(t, s, app, before)
}

// assertUnchanged checks that only the live call before is stored: no record, no delivery.
func assertUnchanged(t *testing.T, s store.Backend, app string, before store.LiveCall) {
	t.Helper()
	ctx := context.Background()
	live, err := s.LiveCalls(ctx)
	if err != nil || len(live) != 1 || !reflect.DeepEqual(live[0], before) {
		t.Errorf("LiveCalls after a failed batch = %+v, %v; want only %q as it was", live, err, before.ID)
	}
	if _, err := s.GetCall(ctx, app, "before"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("record of a failed batch: %v", err)
	}
	if ds, err := s.ListWebhookDeliveries(ctx, app, store.DeliveryPending, 10); err != nil || len(ds) != 0 {
		t.Errorf("deliveries of a failed batch: %+v, %v", ds, err)
	}
}

// testCommitCallsEmpty: an empty batch is no error, and ending an unknown call still
// writes its record.
func testCommitCallsEmpty(t *testing.T, s store.Backend) {
	ctx := context.Background()
	if err := s.CommitCalls(ctx, store.CallBatch{}, t0); err != nil {
		t.Fatalf("empty batch: %v", err)
	}
	rec := Call("org#app", "never-live", "a", "b", t0)
	if err := s.CommitCalls(ctx, store.CallBatch{End: []store.CallRecord{rec}}, t0); err != nil {
		t.Fatal(err)
	}
	if got, err := s.GetCall(ctx, "org#app", "never-live"); err != nil || got != rec {
		t.Fatalf("record = %+v, %v", got, err)
	}
	if live, err := s.LiveCalls(ctx); err != nil || len(live) != 0 {
		t.Fatalf("LiveCalls = %v, %v", live, err)
	}
}
