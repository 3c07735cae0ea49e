package callflow

import (
	"testing"
	"time"

	"github.com/duet-rtc/duet/protocol"
	"github.com/duet-rtc/duet/server/route"
)

// ringTwo sets up alice (a1) calling bob, whose b1 and b2 both ring, with the set-up
// messages checked and drained.
func ringTwo(h *harness) (a, b1, b2 route.Device, id string) {
	a, b1, b2 = h.connect("alice", "a1"), h.connect("bob", "b1"), h.connect("bob", "b2")
	id = h.invite(a, "bob", protocol.CallVoice)
	h.expect(a, ringing(id, "b1"), ringing(id, "b2"))
	h.expect(b1, incoming(id, "alice", "a1", protocol.CallVoice))
	h.expect(b2, incoming(id, "alice", "a1", protocol.CallVoice))
	return a, b1, b2, id
}

func TestEndReasons(t *testing.T) {
	tests := []struct {
		name      string
		accept    bool // b1 answers first
		ender     string
		reason    protocol.EndReason
		by        string
		a, b1, b2 bool // who gets call.ended (the ender never does)
	}{
		{name: "caller hangs up after accept", accept: true, ender: "a1", reason: protocol.EndHangup, by: "alice", b1: true},
		{name: "callee hangs up after accept", accept: true, ender: "b1", reason: protocol.EndHangup, by: "bob", a: true},
		{name: "caller cancels while ringing", ender: "a1", reason: protocol.EndHangup, by: "alice", b1: true, b2: true},
		{name: "caller gives up with no-response", ender: "a1", reason: protocol.EndNoResponse, by: "alice", b1: true, b2: true},
		{name: "callee declines", ender: "b1", reason: protocol.EndDecline, by: "bob", a: true, b2: true},
		{name: "callee device replies busy", ender: "b2", reason: protocol.EndBusy, by: "bob", a: true, b1: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			a, b1, b2, id := ringTwo(h)
			if tc.accept {
				h.answer(b1, id)
				h.expect(a, accepted(id, "b1"))
				h.expect(b1, accepted(id, "b1"))
				h.expect(b2, ended(id, protocol.EndAnsweredElsewhere, ""))
			}
			devs := map[string]route.Device{"a1": a, "b1": b1, "b2": b2}
			h.end(devs[tc.ender], id, tc.reason)
			for name, got := range map[string]bool{"a1": tc.a, "b1": tc.b1, "b2": tc.b2} {
				if got {
					h.expect(devs[name], ended(id, tc.reason, tc.by))
				}
			}
			h.quiet()
			h.settled()
			rec := h.records(1)[0]
			if rec.EndReason != tc.reason || rec.EndedBy != tc.by {
				t.Fatalf("record reason %d by %q, want %d by %q", rec.EndReason, rec.EndedBy, tc.reason, tc.by)
			}
			if tc.accept != (rec.CalleeDevice == "b1") || tc.accept == rec.AcceptedAt.IsZero() {
				t.Fatalf("record callee device %q accepted %v", rec.CalleeDevice, rec.AcceptedAt)
			}
		})
	}
}

func TestEndIsIdempotent(t *testing.T) {
	h := newHarness(t)
	a, b1, b2, id := ringTwo(h)
	h.answer(b1, id)
	h.net.take(a)
	h.net.take(b1)
	h.net.take(b2)

	// b2 lost the race and got answered-elsewhere: its own end is a harmless no-op.
	h.end(b2, id, protocol.EndDecline)
	h.quiet()
	if h.e.Active() != 1 {
		t.Fatal("a device that no longer rings ended the call")
	}
	h.end(a, id, protocol.EndHangup)
	h.expect(b1, ended(id, protocol.EndHangup, "alice"))
	// Both parties may end it again, from any device: ok, nothing sent, nothing recorded.
	h.end(a, id, protocol.EndHangup)
	h.end(b1, id, protocol.EndHangup)
	h.end(b2, id, protocol.EndHangup)
	h.quiet()
	h.settled()
	h.records(1)
	// A stranger still gets CodeCallInvalidID for the ended call.
	c := h.connect("carol", "c1")
	h.fails(h.request(c, protocol.TypeCallEnd, &protocol.CallEnd{CallID: id}), protocol.CodeCallInvalidID)
}

func TestEndedCallsAreForgottenAfterTwiceTheRingTimeout(t *testing.T) {
	h := newHarness(t)
	a, b := h.connect("alice", "a1"), h.connect("bob", "b1")
	id := h.invite(a, "bob", protocol.CallVoice)
	h.end(a, id, protocol.EndHangup)
	h.clk.Advance(89 * time.Second)
	h.end(a, id, protocol.EndHangup)
	h.clk.Advance(time.Second)
	h.fails(h.request(a, protocol.TypeCallEnd, &protocol.CallEnd{CallID: id}), protocol.CodeCallInvalidID)
	h.net.take(a)
	h.net.take(b)
	h.settled()
}
