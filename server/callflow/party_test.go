package callflow

import (
	"encoding/json"
	"testing"

	"github.com/duet-rtc/duet/protocol"
)

func TestParty(t *testing.T) {
	h := newHarness(t)
	a := h.connect("alice", "a1")
	b1 := h.connect("bob", "b1")
	b2 := h.connect("bob", "b2")
	c := h.connect("carol", "c1")
	var inv protocol.CallInvited
	if err := json.Unmarshal(h.ok(h.request(a, protocol.TypeCallInvite, &protocol.CallInvite{To: "bob", Type: protocol.CallVideo, Record: true, MergeStream: true})), &inv); err != nil {
		t.Fatal(err)
	}
	id := inv.CallID
	p, ok := h.e.Party(a, id)
	if !ok || !p.IsCaller || !p.Record || !p.MergeStream || p.Callee != "bob" || p.Answered != "" || p.Type != protocol.CallVideo {
		t.Fatalf("caller's party: %+v %v", p, ok)
	}
	if p, ok := h.e.Party(b2, id); !ok || p.IsCaller {
		t.Fatalf("ringing device: %+v %v", p, ok)
	}
	if _, ok := h.e.Party(c, id); ok {
		t.Fatal("a stranger is a party")
	}
	if _, ok := h.e.Party(a, "nope"); ok {
		t.Fatal("unknown call")
	}
	if h.e.Answered(app, id) != "" {
		t.Fatal("answered while ringing")
	}
	h.answer(b1, id)
	if p, ok := h.e.Party(a, id); !ok || p.Answered != "b1" || h.e.Answered(app, id) != "b1" {
		t.Fatalf("after answer: %+v %v", p, ok)
	}
	if _, ok := h.e.Party(b2, id); ok {
		t.Fatal("the device that lost is still a party")
	}
	h.end(a, id, protocol.EndHangup)
	if _, ok := h.e.Party(a, id); ok || h.e.Answered(app, id) != "" {
		t.Fatal("an ended call has parties")
	}
}
