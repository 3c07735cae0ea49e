package callflow

import (
	"testing"

	"github.com/duet-rtc/duet/protocol"
	"github.com/duet-rtc/duet/server/route"
)

func candidate(id, device string) *protocol.CallSignal {
	return &protocol.CallSignal{CallID: id, Device: device, Candidate: &protocol.ICECandidate{Candidate: "candidate:1 1 udp 1 10.0.0.1 9 typ host"}}
}

func offer(id, device string) *protocol.CallSignal {
	return &protocol.CallSignal{CallID: id, Device: device, Description: &protocol.SessionDescription{Type: "offer", SDP: "v=0"}}
}

func TestSignalRelay(t *testing.T) {
	h := newHarness(t)
	a, b1, b2, id := ringTwo(h)

	// From the caller to a named ringing device, which sees the caller's device id.
	h.do(a, protocol.TypeCallSignal, offer(id, "b2"))
	h.expect(b2, m(protocol.TypeCallSignal, offer(id, "a1")))
	// From a callee device to the caller whatever it names, rewritten to the sender's id.
	h.do(b1, protocol.TypeCallSignal, candidate(id, "zzz"))
	h.expect(a, m(protocol.TypeCallSignal, candidate(id, "b1")))
	// Without a request id there is no reply.
	h.noReply(b2, protocol.TypeCallSignal, candidate(id, ""))
	h.expect(a, m(protocol.TypeCallSignal, candidate(id, "b2")))
	h.quiet()

	// After accept only the answering device is a target.
	h.answer(b1, id)
	h.net.take(a)
	h.net.take(b1)
	h.net.take(b2)
	h.fails(h.request(a, protocol.TypeCallSignal, candidate(id, "b2")), protocol.CodeCallInvalidID)
	h.fails(h.request(b2, protocol.TypeCallSignal, candidate(id, "")), protocol.CodeCallInvalidID)
	h.do(a, protocol.TypeCallSignal, candidate(id, "b1"))
	h.expect(b1, m(protocol.TypeCallSignal, candidate(id, "a1")))
	h.quiet()
}

func TestSignalInvalid(t *testing.T) {
	h := newHarness(t)
	h.connect("alice", "a1")
	a2, b, b2 := h.connect("alice", "a2", true), h.connect("bob", "b1"), h.connect("bob", "b2")
	c := h.connect("carol", "c1")
	id := h.invite(b, "alice", protocol.CallVideo) // only a1 rings: a2 is voice-only
	h.net.take(b)
	h.net.take(dev("alice", "a1"))
	for name, tc := range map[string]struct {
		from   route.Device
		signal *protocol.CallSignal
	}{
		"to a device not rung":           {b, candidate(id, "a2")},
		"to nobody":                      {b, candidate(id, "")},
		"from a device not rung":         {a2, candidate(id, "")},
		"from the caller's other device": {b2, candidate(id, "a1")},
		"from a non-party":               {c, candidate(id, "a1")},
		"unknown call":                   {b, candidate("nope", "a1")},
	} {
		t.Run(name, func(t *testing.T) {
			h.fails(h.request(tc.from, protocol.TypeCallSignal, tc.signal), protocol.CodeCallInvalidID)
		})
	}
	h.quiet()
}

func TestStream(t *testing.T) {
	h := newHarness(t)
	a, b := h.connect("alice", "a1"), h.connect("bob", "b1")
	id := h.invite(a, "bob", protocol.CallVideo)
	h.net.take(a)
	h.net.take(b)
	pause := &protocol.CallStream{CallID: id, Status: protocol.StreamVideoPause}
	h.fails(h.request(a, protocol.TypeCallStream, pause), protocol.CodeCallInvalidID) // before accept
	h.answer(b, id)
	h.net.take(a)
	h.net.take(b)
	h.do(a, protocol.TypeCallStream, pause)
	h.expect(b, m(protocol.TypeCallStream, pause))
	resume := &protocol.CallStream{CallID: id, Status: protocol.StreamVoiceResume}
	h.do(b, protocol.TypeCallStream, resume)
	h.expect(a, m(protocol.TypeCallStream, resume))
	h.fails(h.request(h.connect("carol", "c1"), protocol.TypeCallStream, pause), protocol.CodeCallInvalidID)
	h.quiet()
}

func TestConnect(t *testing.T) {
	h := newHarness(t)
	a, b, id := acceptedCall(h)
	h.fails(h.request(h.connect("carol", "c1"), protocol.TypeCallConnect, &protocol.CallConnect{CallID: id}), protocol.CodeCallInvalidID)
	h.fails(h.request(a, protocol.TypeCallConnect, &protocol.CallConnect{CallID: "nope"}), protocol.CodeCallInvalidID)
	h.do(a, protocol.TypeCallConnect, &protocol.CallConnect{CallID: id, ConnectType: protocol.ConnectRelay})
	h.noReply(b, protocol.TypeCallConnect, &protocol.CallConnect{CallID: id, ConnectType: protocol.ConnectDirect})
	h.quiet() // nothing is relayed
	h.end(a, id, protocol.EndHangup)
	h.net.take(b)
	if rec := h.records(1)[0]; rec.ConnectType != protocol.ConnectDirect || !rec.ConnectedAt.Equal(t0) {
		t.Fatalf("record %+v", rec)
	}
}
