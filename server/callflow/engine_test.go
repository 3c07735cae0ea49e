package callflow

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/duet-rtc/duet/internal/clock"
	"github.com/duet-rtc/duet/protocol"
	"github.com/duet-rtc/duet/server/route"
)

func TestClose(t *testing.T) {
	h := newHarness(t)
	a, b, id := acceptedCall(h)
	h.drop(b) // a grace timer runs too
	h.net.take(a)
	h.e.Close()
	if h.clk.Pending() != 0 {
		t.Fatalf("%d timers after Close", h.clk.Pending())
	}
	h.fails(h.request(a, protocol.TypeCallEnd, &protocol.CallEnd{CallID: id}), protocol.CodeServerShutdown)
	h.e.DeviceOffline(a)
	h.e.DeviceOnline(route.Online{Device: b}, []string{id})
	h.clk.Advance(time.Hour)
	h.quiet()
	if len(h.net.records()) != 0 {
		t.Fatal("Close ended a call")
	}
}

// TestConcurrentCalls runs full cycles from many goroutines with timers firing meanwhile;
// run with -race.
func TestConcurrentCalls(t *testing.T) {
	net := newFakeNet()
	clk := clock.NewFake(t0)
	e := New(Config{Clock: clk, RingTimeout: time.Second}, net, net, nil)
	defer e.Close()
	const pairs, rounds = 8, 50
	var wg sync.WaitGroup
	for p := range pairs {
		a, b := dev(fmt.Sprintf("a%d", p), "x"), dev(fmt.Sprintf("b%d", p), "x")
		net.add(route.Online{Device: a})
		net.add(route.Online{Device: b})
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range rounds {
				e.Invite(a, "", protocol.CallInvite{To: b.User})
				id := lastCallID(net, a)
				if id == "" {
					t.Errorf("invite failed")
					continue
				}
				e.Answer(b, "", id)
				e.Signal(b, "", *candidate(id, ""))
				e.End(a, "", protocol.CallEnd{CallID: id})
			}
		}()
	}
	done, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		for {
			select {
			case <-done:
				return
			default:
				clk.Advance(100 * time.Millisecond)
			}
		}
	}()
	wg.Wait()
	close(done)
	<-stopped // its last timer callback may still be handing a record over
	clk.Advance(time.Hour)
	if e.Active() != 0 || clk.Pending() != 0 {
		t.Fatalf("active %d, pending %d", e.Active(), clk.Pending())
	}
	if n := len(net.records()); n != pairs*rounds {
		t.Fatalf("%d records, want %d", n, pairs*rounds)
	}
}

// lastCallID finds the call id in the latest call.ringing or call.ended sent to d.
func lastCallID(n *fakeNet, d route.Device) string {
	msgs := n.take(d)
	for i := len(msgs) - 1; i >= 0; i-- {
		var ref struct {
			CallID string `json:"callId"`
		}
		if json.Unmarshal(msgs[i].Data, &ref) == nil && ref.CallID != "" {
			return ref.CallID
		}
	}
	return ""
}

func TestRecentCallsIsBounded(t *testing.T) {
	r := newRecentCalls(time.Minute, 4)
	for i := range 10 {
		r.add(fmt.Sprint(i), endedCall{at: t0})
	}
	if r.len() != 4 || len(r.byID) != 4 || len(r.ids) != 4 {
		t.Fatalf("len %d, map %d, ring %d", r.len(), len(r.byID), len(r.ids))
	}
	for i := range 10 {
		if _, ok := r.get(fmt.Sprint(i), t0); ok != (i >= 6) {
			t.Fatalf("id %d remembered: %v", i, ok)
		}
	}
	r.add("late", endedCall{at: t0.Add(time.Minute)}) // ages out all the others
	if r.len() != 1 {
		t.Fatalf("len %d after aging", r.len())
	}
	if _, ok := r.get("late", t0.Add(2*time.Minute)); ok {
		t.Fatal("an old entry is still returned")
	}
	for i := range 20 { // wraps the ring
		r.add(fmt.Sprint("w", i), endedCall{at: t0.Add(time.Minute)})
	}
	if r.len() != 4 || len(r.byID) != 4 {
		t.Fatalf("len %d, map %d", r.len(), len(r.byID))
	}
}
