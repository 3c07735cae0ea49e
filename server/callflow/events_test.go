package callflow

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/duet-rtc/duet/internal/clock"
	"github.com/duet-rtc/duet/protocol"
	"github.com/duet-rtc/duet/server/route"
)

// eventLog reads the events the engine's steps carried.
type eventLog struct{ net *fakeNet }

// kinds renders the events of call id as "seq:kind" in arrival order.
func (l *eventLog) kinds(id string) string {
	l.net.mu.Lock()
	defer l.net.mu.Unlock()
	var out []string
	for _, ev := range l.net.events {
		if ev.CallID == id {
			out = append(out, fmt.Sprintf("%d:%s", ev.Seq, ev.Kind))
		}
	}
	return strings.Join(out, " ")
}

func (l *eventLog) last() Event {
	l.net.mu.Lock()
	defer l.net.mu.Unlock()
	return l.net.events[len(l.net.events)-1]
}

func eventHarness(t *testing.T, pushed bool) (*harness, *eventLog) {
	h := newHarness(t, func(c *Config) {
		c.Pusher = syncPusher(func(string, string, protocol.CallIncoming, string) bool { return pushed })
	})
	return h, &eventLog{net: h.net}
}

func TestEventsOfAnAnsweredCall(t *testing.T) {
	h, log := eventHarness(t, false)
	a := h.connect("alice", "a1")
	b1 := h.connect("bob", "b1")
	h.connect("bob", "b2")
	id := h.invite(a, "bob", protocol.CallVoice)
	h.clk.Advance(time.Second)
	h.do(b1, protocol.TypeCallConnect, &protocol.CallConnect{CallID: id, ConnectType: protocol.ConnectDirect})
	h.do(a, protocol.TypeCallConnect, &protocol.CallConnect{CallID: id, ConnectType: protocol.ConnectRelay})
	h.answer(b1, id)
	h.end(a, id, protocol.EndHangup)
	if got := log.kinds(id); got != "1:invited 2:ringing 3:connected 4:accepted 5:ended" {
		t.Fatalf("events %s", got)
	}
	end := log.last()
	if end.Record == nil || end.Record.ID != id || end.Record.CalleeDevice != "b1" || end.By != "alice" ||
		end.Reason != protocol.EndHangup || end.Caller != "alice" || end.Callee != "bob" || end.CallerDevice != "a1" {
		t.Fatalf("ended event %+v", end)
	}
	for _, ev := range h.net.events {
		switch ev.Kind {
		case EventRinging:
			if ev.Device != "b1" || !ev.At.Equal(t0) {
				t.Errorf("ringing event %+v", ev)
			}
		case EventConnected:
			if ev.ConnectType != protocol.ConnectDirect || !ev.At.Equal(t0.Add(time.Second)) {
				t.Errorf("connected event %+v", ev)
			}
		case EventAccepted:
			if ev.Device != "b1" {
				t.Errorf("accepted event %+v", ev)
			}
		}
	}
}

func TestEventsOfCallsEndedAtInvite(t *testing.T) {
	h, log := eventHarness(t, false)
	a := h.connect("alice", "a1")
	id := callID(t, h.ok(h.request(a, protocol.TypeCallInvite, &protocol.CallInvite{To: "bob", PushIfOffline: true})))
	h.expect(a, ended(id, protocol.EndRemoteOffline, ""))
	if ev := log.last(); ev.Kind != EventEnded || ev.Reason != protocol.EndRemoteOffline || ev.Seq != 2 {
		t.Fatalf("last event %+v", ev)
	}
	if got := log.kinds(log.last().CallID); got != "1:invited 2:ended" {
		t.Fatalf("events %s", got)
	}
	// Nothing is reported for invites refused before a call exists.
	n := len(h.net.events)
	h.fails(h.request(a, protocol.TypeCallInvite, &protocol.CallInvite{To: "nobody"}), protocol.CodeUserNotFound)
	if len(h.net.events) != n {
		t.Fatalf("a refused invite made events")
	}
}

// A pushed call that the caller cancels leaves nothing to ring: the callee's device that
// connects afterwards gets no stale call.incoming.
func TestPushedCallCancelledThenCalleeConnects(t *testing.T) {
	h, log := eventHarness(t, true)
	a := h.connect("alice", "a1")
	id := callID(t, h.ok(h.request(a, protocol.TypeCallInvite, &protocol.CallInvite{To: "bob", PushIfOffline: true})))
	h.expect(a, m(protocol.TypeCallOffline, protocol.CallOffline{CallID: id, To: "bob"}))
	h.end(a, id, protocol.EndHangup)
	h.connect("bob", "b1")
	h.quiet()
	h.settled()
	if got := log.kinds(id); got != "1:invited 2:offline 3:ended" {
		t.Fatalf("events %s", got)
	}
}

func TestEventsOfPushedCallAnswered(t *testing.T) {
	h, log := eventHarness(t, true)
	a := h.connect("alice", "a1")
	id := callID(t, h.ok(h.request(a, protocol.TypeCallInvite, &protocol.CallInvite{To: "bob", PushIfOffline: true})))
	b := h.connect("bob", "b1")
	h.answer(b, id)
	h.clk.Advance(time.Hour)
	h.end(b, id, protocol.EndHangup)
	if got := log.kinds(id); got != "1:invited 2:offline 3:ringing 4:accepted 5:ended" {
		t.Fatalf("events %s", got)
	}
}

// TestEventOrderUnderConcurrency runs calls from many goroutines with timers firing and
// checks that every call's events arrive numbered 1, 2, ... and start with invited and end
// with ended; run with -race.
func TestEventOrderUnderConcurrency(t *testing.T) {
	net := newFakeNet()
	clk := clock.NewFake(t0)
	e := New(Config{Clock: clk, RingTimeout: time.Second}, net, net, nil)
	defer e.Close()
	const pairs, rounds = 6, 40
	var wg sync.WaitGroup
	for p := range pairs {
		a, b := dev(fmt.Sprintf("a%d", p), "x"), dev(fmt.Sprintf("b%d", p), "x")
		net.add(route.Online{Device: a})
		net.add(route.Online{Device: b})
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range rounds {
				e.Invite(a, "", protocol.CallInvite{To: b.User})
				id := lastCallID(net, a)
				if i%2 == 0 {
					e.Answer(b, "", id)
				}
				e.Connect(b, "", protocol.CallConnect{CallID: id})
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
				clk.Advance(200 * time.Millisecond)
			}
		}
	}()
	wg.Wait()
	close(done)
	<-stopped
	byCall := map[string][]Event{}
	for _, ev := range net.events {
		byCall[ev.CallID] = append(byCall[ev.CallID], ev)
	}
	if len(byCall) != pairs*rounds {
		t.Fatalf("%d calls reported, want %d", len(byCall), pairs*rounds)
	}
	for id, evs := range byCall {
		for i, ev := range evs {
			if ev.Seq != i+1 {
				t.Fatalf("call %s: event %d has seq %d", id, i, ev.Seq)
			}
		}
		if evs[0].Kind != EventInvited || evs[len(evs)-1].Kind != EventEnded {
			t.Fatalf("call %s: events %v ... %v", id, evs[0].Kind, evs[len(evs)-1].Kind)
		}
	}
}
