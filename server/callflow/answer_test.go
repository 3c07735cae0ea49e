package callflow

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/duet-rtc/duet/protocol"
	"github.com/duet-rtc/duet/server/route"
)

func TestAnsweredElsewhere(t *testing.T) {
	h := newHarness(t)
	a := h.connect("alice", "a1")
	b1, b2, b3 := h.connect("bob", "b1"), h.connect("bob", "b2"), h.connect("bob", "b3")
	id := h.invite(a, "bob", protocol.CallVideo)
	h.expect(a, ringing(id, "b1"), ringing(id, "b2"), ringing(id, "b3"))
	in := incoming(id, "alice", "a1", protocol.CallVideo)
	h.expect(b1, in)
	h.expect(b2, in)
	h.expect(b3, in)

	h.answer(b2, id)
	h.expect(a, accepted(id, "b2"))
	h.expect(b2, accepted(id, "b2"))
	h.expect(b1, ended(id, protocol.EndAnsweredElsewhere, ""))
	h.expect(b3, ended(id, protocol.EndAnsweredElsewhere, ""))

	// The losers, and the winner answering twice, get CodeCallInvalidID.
	h.fails(h.request(b1, protocol.TypeCallAnswer, &protocol.CallRef{CallID: id}), protocol.CodeCallInvalidID)
	h.fails(h.request(b2, protocol.TypeCallAnswer, &protocol.CallRef{CallID: id}), protocol.CodeCallInvalidID)
	h.quiet()
	h.end(a, id, protocol.EndHangup)
	h.expect(b2, ended(id, protocol.EndHangup, "alice"))
	h.quiet()
	h.settled()
}

func TestAnswerInvalid(t *testing.T) {
	h := newHarness(t)
	a, b := h.connect("alice", "a1"), h.connect("bob", "b1")
	c := h.connect("carol", "c1")
	id := h.invite(a, "bob", protocol.CallVoice)
	h.net.take(a)
	h.net.take(b)
	other := dev("bob", "b1")
	other.App = "org#other" // same user and device names in another app
	for name, tc := range map[string]struct {
		from route.Device
		id   string
	}{
		"unknown call":      {b, "nope"},
		"the caller":        {a, id},
		"a non-party":       {c, id},
		"another app":       {other, id},
		"a device not rung": {dev("bob", "b9"), id},
	} {
		h.fails(h.request(tc.from, protocol.TypeCallAnswer, &protocol.CallRef{CallID: tc.id}), protocol.CodeCallInvalidID)
		if h.e.Active() != 1 {
			t.Fatalf("%s changed the call", name)
		}
	}
	h.fails(h.request(b, protocol.TypeCallAnswer, &protocol.CallRef{}), protocol.CodeCallInvalidID)
	h.end(a, id, protocol.EndHangup)
	h.net.take(b)
	h.fails(h.request(b, protocol.TypeCallAnswer, &protocol.CallRef{CallID: id}), protocol.CodeCallInvalidID)
	h.quiet()
	h.settled()
}

func TestGlare(t *testing.T) {
	h := newHarness(t)
	a1, a2, b := h.connect("alice", "a1"), h.connect("alice", "a2"), h.connect("bob", "b1")
	id := h.invite(b, "alice", protocol.CallVoice) // bob's invite is first: it wins
	h.net.take(a1)
	h.net.take(a2)
	h.net.take(b)

	reply := h.request(a1, protocol.TypeCallInvite, &protocol.CallInvite{To: "Bob", Type: protocol.CallVideo})
	var inv protocol.CallInvited
	if err := json.Unmarshal(h.ok(reply), &inv); err != nil {
		t.Fatal(err)
	}
	if want := (protocol.CallInvited{CallID: id, Glare: true}); !reflect.DeepEqual(inv, want) {
		t.Fatalf("invited %+v, want %+v", inv, want)
	}
	// alice's invite answered bob's call from a1.
	h.expect(b, accepted(id, "a1"))
	h.expect(a1, accepted(id, "a1"))
	h.expect(a2, ended(id, protocol.EndAnsweredElsewhere, ""))
	h.quiet()
	if h.e.Active() != 1 {
		t.Fatalf("%d calls, want the one", h.e.Active())
	}
	h.end(a1, id, protocol.EndHangup)
	h.expect(b, ended(id, protocol.EndHangup, "alice"))
	h.settled()
	if rec := h.records(1)[0]; rec.Caller != "bob" || rec.CalleeDevice != "a1" || rec.Type != protocol.CallVoice {
		t.Fatalf("record %+v", rec)
	}
}
