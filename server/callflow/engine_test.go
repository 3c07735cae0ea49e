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

func TestUnknownAndMalformedMessages(t *testing.T) {
	h := newHarness(t)
	a := h.connect("alice", "a1")
	h.fails(h.request(a, "call.dance", nil), protocol.CodeUnknownMessage)
	h.fails(h.request(a, protocol.TypeHello, nil), protocol.CodeUnknownMessage)
	if r := h.e.HandleMessage(a, nil); r == nil || r.Error.Code != protocol.CodeBadMessage {
		t.Fatalf("nil envelope: %+v", r)
	}
	for _, typ := range []string{protocol.TypeCallAnswer, protocol.TypeCallEnd, protocol.TypeCallSignal,
		protocol.TypeCallConnect, protocol.TypeCallStream, protocol.TypeCallInvite} {
		env := &protocol.Envelope{Type: typ, Data: json.RawMessage(`{"callId":5}`)}
		if r := h.e.HandleMessage(a, env); r == nil || r.Type != protocol.TypeError || r.Error.Code != protocol.CodeBadMessage {
			t.Fatalf("%s with a bad body: %+v", typ, r)
		}
	}
	// A client may not claim a server-only reason.
	h.fails(h.request(a, protocol.TypeCallEnd, &protocol.CallEnd{CallID: "x", Reason: protocol.EndAnsweredElsewhere}), protocol.CodeBadMessage)
	h.quiet()
}

// FuzzHandleMessage feeds hostile bodies of every type, from each party and a stranger, to a
// ringing call: nothing panics and the call still ends cleanly.
func FuzzHandleMessage(f *testing.F) {
	for _, s := range []string{`{}`, `{"callId":"call-1"}`, `{"callId":"call-1","device":"b1","candidate":{"candidate":"x"}}`,
		`{"to":"bob","type":1}`, `{"callId":"call-1","reason":2}`, `{"callId":"call-1","status":3}`, `null`, `[]`, `{"callId":""}`} {
		for typ := range 7 {
			f.Add(uint8(typ), uint8(typ%3), []byte(s))
		}
	}
	types := []string{protocol.TypeCallInvite, protocol.TypeCallAnswer, protocol.TypeCallEnd, protocol.TypeCallSignal,
		protocol.TypeCallConnect, protocol.TypeCallStream, "call.x"}
	f.Fuzz(func(t *testing.T, typ, who uint8, data []byte) {
		h := newHarness(t)
		devs := []route.Device{h.connect("alice", "a1"), h.connect("bob", "b1"), h.connect("carol", "c1")}
		h.invite(devs[0], "bob", protocol.CallVideo)
		env := &protocol.Envelope{Type: types[int(typ)%len(types)], ID: "x", Data: data}
		h.e.HandleMessage(devs[int(who)%len(devs)], env)
		h.clk.Advance(time.Hour) // an accepted call lives on, without timers
		h.e.HandleMessage(devs[0], protocol.NewMessage(protocol.TypeCallEnd, "", &protocol.CallEnd{CallID: "call-1"}))
		h.settled()
	})
}

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
	if len(h.rec.all()) != 0 {
		t.Fatal("Close ended a call")
	}
}

// TestConcurrentCalls runs full cycles from many goroutines with timers firing meanwhile;
// run with -race.
func TestConcurrentCalls(t *testing.T) {
	net := newFakeNet()
	rec := &fakeRecorder{}
	clk := clock.NewFake(t0)
	e := New(Config{Clock: clk, RingTimeout: time.Second}, net, net, nil, rec)
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
				if e.HandleMessage(a, protocol.NewMessage(protocol.TypeCallInvite, "", &protocol.CallInvite{To: b.User})) != nil {
					t.Errorf("invite failed")
					continue
				}
				id := lastCallID(net, a)
				e.HandleMessage(b, protocol.NewMessage(protocol.TypeCallAnswer, "", &protocol.CallRef{CallID: id}))
				e.HandleMessage(b, protocol.NewMessage(protocol.TypeCallSignal, "", candidate(id, "")))
				e.HandleMessage(a, protocol.NewMessage(protocol.TypeCallEnd, "", &protocol.CallEnd{CallID: id}))
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
	if n := len(rec.all()); n != pairs*rounds {
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
