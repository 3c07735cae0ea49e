package server

import "testing"

type fakeCounter struct{ n uint64 }

func (f *fakeCounter) WebhooksEnqueued() uint64 { return f.n }

// TestOutboxWokenOnlyForNewDeliveries: a batch of call steps wakes the outbox only when the
// store's count of enqueued deliveries moved; a store that keeps no count always wakes it.
func TestOutboxWokenOnlyForNewDeliveries(t *testing.T) {
	f := &fakeCounter{}
	m := &messaging{counter: f}
	if m.newDeliveries() {
		t.Error("woken with nothing enqueued")
	}
	f.n = 3
	if !m.newDeliveries() {
		t.Error("not woken after deliveries were enqueued")
	}
	if m.newDeliveries() {
		t.Error("woken twice for the same deliveries")
	}
	if !(&messaging{}).newDeliveries() {
		t.Error("a store without a count must always wake the outbox")
	}
}
