package server

import (
	"path/filepath"
	"testing"

	"github.com/duet-rtc/duet/server/seal"
	"github.com/duet-rtc/duet/server/store/sqlite"
)

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

// TestEnqueueCounterUnderSeal: the server's store is sealed (seal.Store) around SQLite; the
// count is found under the wrapper.
func TestEnqueueCounterUnderSeal(t *testing.T) {
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "duet.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	key, err := seal.NewKey("a test secret of enough length")
	if err != nil {
		t.Fatal(err)
	}
	if enqueueCounterOf(seal.NewStore(st, key)) == nil {
		t.Fatal("the SQLite store's count is not found under seal.Store")
	}
}
