package callflow

import (
	"testing"
	"time"

	"github.com/duet-rtc/duet/protocol"
	"github.com/duet-rtc/duet/server/route"
)

// acceptedCall sets up alice (a1) in an accepted call with bob's b1, messages drained.
func acceptedCall(h *harness) (a, b route.Device, id string) {
	a, b = h.connect("alice", "a1"), h.connect("bob", "b1")
	id = h.invite(a, "bob", protocol.CallVoice)
	h.answer(b, id)
	h.net.take(a)
	h.net.take(b)
	return a, b, id
}

func TestGraceResume(t *testing.T) {
	for _, lost := range []string{"caller", "callee"} {
		t.Run(lost, func(t *testing.T) {
			h := newHarness(t)
			a, b, id := acceptedCall(h)
			gone, stays := a, b
			if lost == "callee" {
				gone, stays = b, a
			}
			h.drop(gone)
			h.expect(stays, peer(id, false))
			h.drop(gone) // a second DeviceOffline changes nothing
			h.clk.Advance(29 * time.Second)
			h.reconnect(gone, id)
			h.expect(stays, peer(id, true))
			h.reconnect(gone, id) // a replaced connection: nothing either
			h.clk.Advance(time.Hour)
			h.quiet()
			if h.e.Active() != 1 || len(h.net.records()) != 0 {
				t.Fatal("the call ended")
			}
			h.end(stays, id, protocol.EndHangup)
			h.expect(gone, ended(id, protocol.EndHangup, stays.User))
			h.settled()
		})
	}
}

func TestGraceExpiry(t *testing.T) {
	h := newHarness(t)
	a, b, id := acceptedCall(h)
	h.drop(b)
	h.expect(a, peer(id, false))
	h.clk.Advance(30 * time.Second)
	h.expect(a, ended(id, protocol.EndFailed, ""))
	h.quiet()
	h.settled()
	if rec := h.records(1)[0]; rec.EndReason != protocol.EndFailed || rec.EndedBy != "" {
		t.Fatalf("record %+v", rec)
	}
	// b comes back too late: its resumed call is over, with the reason it ended for.
	h.reconnect(b, id)
	h.expect(b, ended(id, protocol.EndFailed, ""))
}

func TestCallerLostWhileRinging(t *testing.T) {
	h := newHarness(t)
	a, b1, b2, id := ringTwo(h)
	h.drop(a)
	h.expect(b1, peer(id, false))
	h.expect(b2, peer(id, false))
	h.clk.Advance(30 * time.Second)
	h.expect(b1, ended(id, protocol.EndFailed, ""))
	h.expect(b2, ended(id, protocol.EndFailed, ""))
	h.quiet()
	h.settled()
}

func TestCallerBackWhileRinging(t *testing.T) {
	h := newHarness(t)
	a, b1, b2, id := ringTwo(h)
	h.drop(a)
	h.net.take(b1)
	h.net.take(b2)
	h.clk.Advance(10 * time.Second)
	h.reconnect(a, id)
	h.expect(b1, peer(id, true))
	h.expect(b2, peer(id, true))
	h.quiet() // nothing else for the caller
	h.clk.Advance(35 * time.Second)
	h.expect(a, ended(id, protocol.EndNoResponse, ""))
	h.expect(b1, ended(id, protocol.EndNoResponse, ""))
	h.expect(b2, ended(id, protocol.EndNoResponse, ""))
	h.settled()
}

// What the caller misses while away (a device that starts ringing, the answer) is replayed
// when it comes back.
func TestCallerMissesRingingAndAccept(t *testing.T) {
	h := newHarness(t)
	a, b1 := h.connect("alice", "a1"), h.connect("bob", "b1")
	id := h.invite(a, "bob", protocol.CallVoice)
	h.net.take(a)
	h.net.take(b1)
	h.drop(a)
	h.expect(b1, peer(id, false))
	b2 := h.connect("bob", "b2")
	h.expect(b2, incoming(id, "alice", "a1", protocol.CallVoice), peer(id, false))
	h.answer(b1, id)
	h.expect(b1, accepted(id, "b1"), peer(id, false))
	h.expect(b2, ended(id, protocol.EndAnsweredElsewhere, ""))
	h.reconnect(a, id)
	h.expect(a, accepted(id, "b1")) // b2 no longer rings, so its call.ringing is not replayed
	h.expect(b1, peer(id, true))
	h.quiet()
}

func TestCallerMissesRinging(t *testing.T) {
	h := newHarness(t)
	a, b1 := h.connect("alice", "a1"), h.connect("bob", "b1")
	id := h.invite(a, "bob", protocol.CallVoice)
	h.net.take(b1)
	h.drop(a)
	h.net.take(b1)
	b2 := h.connect("bob", "b2")
	h.net.take(b2)
	h.reconnect(a, id)
	h.expect(a, ringing(id, "b1"), ringing(id, "b2"))
	h.net.take(b1)
	h.net.take(b2)
	h.quiet()
}

func TestRingingDeviceLostAndBack(t *testing.T) {
	h := newHarness(t)
	a, b1, b2, id := ringTwo(h)
	h.drop(b1)
	h.quiet() // the call keeps ringing; nobody is told
	h.fails(h.request(a, protocol.TypeCallSignal, candidate(id, "b1")), protocol.CodeCallInvalidID)
	h.reconnect(b1, id) // it rings again: the caller restarts that pre-connection
	h.expect(b1, incoming(id, "alice", "a1", protocol.CallVoice))
	h.expect(a, ringing(id, "b1"))
	h.quiet()
	h.drop(b1)
	h.drop(b2)
	h.clk.Advance(45 * time.Second) // nobody rings any more: the ring timer decides
	h.expect(a, ended(id, protocol.EndNoResponse, ""))
	h.quiet()
	h.settled()
}

func TestDeviceOnlineIsIdempotent(t *testing.T) {
	h := newHarness(t)
	_, b1, _, id := ringTwo(h)
	h.reconnect(b1, id)
	h.reconnect(b1)
	h.quiet()
}

func TestResume(t *testing.T) {
	h := newHarness(t)
	a, b1, b2, id := ringTwo(h)
	h.answer(b1, id)
	h.net.take(a)
	h.net.take(b1)
	h.net.take(b2)
	// A resumed id that is unknown, another app's or another user's ends Failed; a live call
	// that another device answered ends answered-elsewhere; the device's own call stays.
	h.reconnect(b2, "ghost", id)
	h.expect(b2, ended("ghost", protocol.EndFailed, ""), ended(id, protocol.EndAnsweredElsewhere, ""))
	h.reconnect(b1, id)
	h.quiet()
	c := h.connect("carol", "c1")
	h.reconnect(c, id)
	h.expect(c, ended(id, protocol.EndFailed, ""))
	h.end(b1, id, protocol.EndHangup)
	h.net.take(a)
	// After the end, the call's own reason.
	h.reconnect(a, id)
	h.expect(a, ended(id, protocol.EndHangup, "bob"))
	h.reconnect(b2, id)
	h.expect(b2, ended(id, protocol.EndAnsweredElsewhere, ""))
	h.quiet()
	h.settled()
}

func TestBothSidesAway(t *testing.T) {
	h := newHarness(t)
	a, b, id := acceptedCall(h)
	h.drop(a)
	h.expect(b, peer(id, false))
	h.clk.Advance(10 * time.Second)
	h.drop(b) // a is gone too: nobody can be told
	h.clk.Advance(15 * time.Second)
	h.reconnect(a, id)
	h.expect(a, peer(id, false)) // its peer is still away
	h.clk.Advance(10 * time.Second)
	h.reconnect(b, id) // 25s into b's own grace
	h.expect(a, peer(id, true))
	h.quiet()
	h.clk.Advance(time.Hour)
	if h.e.Active() != 1 {
		t.Fatal("the call ended")
	}
}

// The caller's grace can run out while the Pusher works (it runs without the lock).
func TestCallerLostDuringPush(t *testing.T) {
	var h *harness
	a := dev("alice", "a1")
	h = newHarness(t, func(c *Config) {
		c.Pusher = syncPusher(func(string, string, protocol.CallIncoming, string) bool {
			h.drop(a)
			h.clk.Advance(30 * time.Second)
			return true
		})
	})
	h.connect("alice", "a1")
	h.ok(h.request(a, protocol.TypeCallInvite, &protocol.CallInvite{To: "bob", PushIfOffline: true}))
	h.settled()
	if h.endReason(0) != protocol.EndFailed {
		t.Fatal(h.net.records())
	}
}

func TestCloseDuringPush(t *testing.T) {
	var h *harness
	h = newHarness(t, func(c *Config) {
		c.Pusher = syncPusher(func(string, string, protocol.CallIncoming, string) bool { h.e.Close(); return true })
	})
	a := h.connect("alice", "a1")
	h.ok(h.request(a, protocol.TypeCallInvite, &protocol.CallInvite{To: "bob", PushIfOffline: true}))
	if h.clk.Pending() != 0 {
		t.Fatal("a timer was armed after Close")
	}
}
