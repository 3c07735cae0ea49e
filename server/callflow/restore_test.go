package callflow

import (
	"reflect"
	"testing"
	"time"

	"github.com/duet-rtc/duet/protocol"
)

// restarted takes the durable state of every live call of h (as the store would hold it:
// the last State each step handed out), closes h's engine as a stopping server does, and
// returns a new harness at a later time whose engine restored them. Nothing is connected.
func restarted(t *testing.T, h *harness, after time.Duration, ids ...string) *harness {
	t.Helper()
	var states []State
	for _, id := range ids {
		s, ok := h.net.lastSave(id)
		if !ok {
			t.Fatalf("no state of %s", id)
		}
		states = append(states, s)
	}
	h.e.Close()
	h2 := newHarness(t)
	h2.clk.Advance(h.clk.Now().Sub(t0) + after)
	h2.e.Restore(states)
	return h2
}

func TestStateFollowsTheCall(t *testing.T) {
	h := newHarness(t)
	a, b := h.connect("alice", "a1"), h.connect("bob", "b1")
	h.connect("bob", "b2")
	id := h.invite(a, "bob", protocol.CallVideo)
	s, _ := h.net.lastSave(id)
	want := State{
		ID: id, App: app, Caller: "alice", CallerDevice: "a1", Callee: "bob", Type: protocol.CallVideo,
		Legs: []Leg{{"b1", true}, {"b2", true}}, InvitedAt: t0, RingingAt: t0,
		RingDeadline: t0.Add(45 * time.Second), Events: 2,
	}
	if !reflect.DeepEqual(s, want) {
		t.Fatalf("ringing state\n got %+v\nwant %+v", s, want)
	}
	h.clk.Advance(time.Second)
	h.answer(b, id)
	h.drop(a)
	s, _ = h.net.lastSave(id)
	if !s.Accepted || s.Answered != "b1" || !s.AcceptedAt.Equal(t0.Add(time.Second)) || !s.RingDeadline.IsZero() ||
		!s.Grace[sideCaller].Equal(t0.Add(31*time.Second)) || !s.Grace[sideCallee].IsZero() || s.Events != 3 {
		t.Fatalf("accepted state %+v", s)
	}
	h.end(b, id, protocol.EndHangup)
	if saves := len(h.net.saves); saves == 0 {
		t.Fatal("no saves")
	}
	if n := len(h.net.records()); n != 1 {
		t.Fatalf("%d records", n)
	}
}

func TestRestoredAcceptedCallResumes(t *testing.T) {
	h := newHarness(t)
	_, _, id := acceptedCall(h)
	h = restarted(t, h, 2*time.Second, id)
	if h.e.Active() != 1 {
		t.Fatal("not restored")
	}
	a, b := dev("alice", "a1"), dev("bob", "b1")
	h.reconnect(a, id)
	// The caller hears that bob is away, and the accept again (a crash may have eaten it).
	h.expect(a, peer(id, false), accepted(id, "b1"))
	h.reconnect(b, id)
	h.expect(b, accepted(id, "b1"))
	h.expect(a, peer(id, true))
	h.clk.Advance(time.Hour) // no grace runs any more
	h.end(a, id, protocol.EndHangup)
	h.expect(b, ended(id, protocol.EndHangup, "alice"))
	rec := h.records(1)[0]
	if rec.EndReason != protocol.EndHangup || rec.CalleeDevice != "b1" || !rec.AcceptedAt.Equal(t0) || rec.InvitedAt != t0 {
		t.Fatalf("record %+v", rec)
	}
	h.settled()
}

func TestRestoredCallEndsFailedWhenAPartyStaysAway(t *testing.T) {
	h := newHarness(t)
	_, _, id := acceptedCall(h)
	h = restarted(t, h, time.Second, id)
	a := dev("alice", "a1")
	h.reconnect(a, id)
	h.net.take(a)
	h.clk.Advance(29 * time.Second)
	if h.e.Active() != 1 {
		t.Fatal("ended before the grace")
	}
	h.clk.Advance(time.Second)
	h.expect(a, ended(id, protocol.EndFailed, ""))
	if rec := h.records(1)[0]; rec.EndReason != protocol.EndFailed || rec.EndedBy != "" || rec.AcceptedAt.IsZero() {
		t.Fatalf("record %+v", rec)
	}
	h.settled()
}

func TestRestoredRingingCall(t *testing.T) {
	h := newHarness(t)
	a, _ := h.connect("alice", "a1"), h.connect("bob", "b1")
	id := h.invite(a, "bob", protocol.CallVoice)
	h = restarted(t, h, 10*time.Second, id)
	b := dev("bob", "b1")
	h.reconnect(b, id) // rung again; alice is not back yet
	h.expect(b, incoming(id, "alice", "a1", protocol.CallVoice), peer(id, false))
	a = dev("alice", "a1")
	h.reconnect(a, id)
	h.expect(a, ringing(id, "b1"))
	h.expect(b, peer(id, true))
	h.answer(b, id)
	h.expect(a, accepted(id, "b1"))
	h.end(a, id, protocol.EndHangup)
	if rec := h.records(1)[0]; rec.EndReason != protocol.EndHangup || rec.AcceptedAt.IsZero() {
		t.Fatalf("record %+v", rec)
	}
}

func TestRestoredRingingCallPastItsDeadline(t *testing.T) {
	h := newHarness(t)
	a, _ := h.connect("alice", "a1"), h.connect("bob", "b1")
	id := h.invite(a, "bob", protocol.CallVoice)
	h = restarted(t, h, time.Minute, id) // the 45 s ring timeout passed while down
	h.clk.Advance(0)
	if rec := h.records(1)[0]; rec.EndReason != protocol.EndNoResponse {
		t.Fatalf("record %+v", rec)
	}
	// The caller resuming it learns how it ended.
	a = dev("alice", "a1")
	h.reconnect(a, id)
	h.expect(a, ended(id, protocol.EndNoResponse, ""))
	h.settled()
}

func TestDamagedOrClashingStatesEndFailed(t *testing.T) {
	h := newHarness(t)
	ok := State{ID: "c1", App: app, Caller: "alice", CallerDevice: "a1", Callee: "bob", Type: protocol.CallVoice,
		Legs: []Leg{{Device: "b1"}}, InvitedAt: t0, Events: 2}
	damaged := ok
	damaged.ID, damaged.Caller, damaged.Callee, damaged.Damaged = "c2", "carol", "dave", true
	clash := ok
	clash.ID, clash.Caller = "c3", "carol" // bob is in c1 already
	h.e.Restore([]State{ok, damaged, clash})
	if h.e.Active() != 1 {
		t.Fatalf("active %d", h.e.Active())
	}
	recs := h.records(2)
	for _, r := range recs {
		if r.EndReason != protocol.EndFailed || (r.ID != "c2" && r.ID != "c3") {
			t.Fatalf("record %+v", r)
		}
	}
	if got := h.net.events[len(h.net.events)-1]; got.Kind != EventEnded || got.Seq != 3 {
		t.Fatalf("last event %+v", got)
	}
}
