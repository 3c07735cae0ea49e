package server

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/duet-rtc/duet/internal/clock"
	"github.com/duet-rtc/duet/protocol"
	"github.com/duet-rtc/duet/server/callflow"
	"github.com/duet-rtc/duet/server/route"
	"github.com/duet-rtc/duet/server/store"
)

// gatedStore holds every commit until open is closed.
type gatedStore struct {
	store.LiveCallStore
	open    chan struct{}
	commits chan store.CallBatch
}

func (g *gatedStore) CommitCalls(ctx context.Context, b store.CallBatch, _ time.Time) error {
	<-g.open
	g.commits <- b
	return nil
}

// delivered records what the committer hands the hub, in order.
type delivered struct {
	mu  sync.Mutex
	got []string // "device:type"
}

func (d *delivered) send(to route.Device, env *protocol.Envelope) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.got = append(d.got, to.ID+":"+env.Type)
	return true
}

func (d *delivered) list() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.got...)
}

// A step waits for its commit; a step that stores nothing waits only behind messages for
// the same device, so a slow store holds up the devices of the calls it is writing and
// nobody else, and every device keeps its order.
func TestStepsWaitForTheirCommitPerDevice(t *testing.T) {
	g := &gatedStore{open: make(chan struct{}), commits: make(chan store.CallBatch, 4)}
	d := &delivered{}
	c := newStepCommitter(g, &stepCommitter{send: d.send, clk: clock.Real{}, log: slog.New(slog.DiscardHandler)})
	defer c.Close()
	a, b := route.Device{App: "x#y", User: "alice", ID: "a1"}, route.Device{App: "x#y", User: "bob", ID: "b1"}
	msg := func(typ string) callflow.Message {
		return callflow.Message{Type: typ, Body: &protocol.CallRef{CallID: "c1"}}
	}

	c.Apply(&callflow.Step{
		Sends: []callflow.Send{{To: a, Msg: msg(protocol.TypeCallEnded)}},
		Ends:  []callflow.Record{{ID: "c1", App: "x#y", Caller: "alice", Callee: "bob"}},
	})
	c.Apply(&callflow.Step{Sends: []callflow.Send{{To: b, Msg: msg(protocol.TypeCallSignal)}}})
	c.Apply(&callflow.Step{Sends: []callflow.Send{{To: a, Msg: msg(protocol.TypeCallSignal)}}})
	if got := d.list(); len(got) != 1 || got[0] != "b1:call.signal" {
		t.Fatalf("before the commit: %v", got)
	}
	close(g.open)
	if batch := <-g.commits; len(batch.End) != 1 || batch.End[0].ID != "c1" {
		t.Fatalf("batch %+v", batch)
	}
	c.Flush()
	want := []string{"b1:call.signal", "a1:call.ended", "a1:call.signal"}
	if got := d.list(); len(got) != 3 || got[1] != want[1] || got[2] != want[2] {
		t.Fatalf("after the commit: %v, want %v", got, want)
	}
	// Nothing waits any more: a step that stores nothing goes at once.
	c.Apply(&callflow.Step{Sends: []callflow.Send{{To: a, Msg: msg(protocol.TypeCallStream)}}})
	if got := d.list(); len(got) != 4 {
		t.Fatalf("afterwards: %v", got)
	}
}

// fencedStore refuses every commit as a store does once another node owns the calls.
type fencedStore struct{ store.LiveCallStore }

func (fencedStore) CommitCalls(context.Context, store.CallBatch, time.Time) error {
	return store.ErrFenced
}

// A batch whose fence fails is dropped: its messages are never delivered (what it decided
// did not happen), Flush returns, and later steps that store nothing still go out.
func TestFencedStepsAreDropped(t *testing.T) {
	d := &delivered{}
	c := newStepCommitter(fencedStore{}, &stepCommitter{send: d.send, clk: clock.Real{}, log: slog.New(slog.DiscardHandler)})
	defer c.Close()
	a := route.Device{App: "x#y", User: "alice", ID: "a1"}
	c.Apply(&callflow.Step{
		Sends: []callflow.Send{{To: a, Msg: callflow.Message{Type: protocol.TypeCallEnded, Body: &protocol.CallRef{CallID: "c1"}}}},
		Ends:  []callflow.Record{{ID: "c1", App: "x#y", Caller: "alice", Callee: "bob"}},
	})
	c.Flush()
	if got := d.list(); len(got) != 0 {
		t.Fatalf("delivered %v from a fenced batch", got)
	}
	c.Apply(&callflow.Step{Sends: []callflow.Send{{To: a, Msg: callflow.Message{Type: protocol.TypeCallSignal, Body: &protocol.CallRef{CallID: "c2"}}}}})
	if got := d.list(); len(got) != 1 || got[0] != "a1:call.signal" {
		t.Fatalf("afterwards: %v", got)
	}
}
