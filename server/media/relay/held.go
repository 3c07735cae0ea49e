package relay

import (
	"github.com/pion/rtp/codecs"
)

// Video held for a leg without keys. A device's leg is up as the device sees it (its DTLS
// handshake is done) a moment before pion tells the relay (on a loaded server, tens of
// milliseconds later), and only then does the relay take the leg's keys. A call answered in
// that moment sends the other party's first keyframe to a leg that cannot protect it: lost,
// the device's decoder waits for the sender's next keyframe, which a sender that has just
// sent one (the SDK throttles keyframes, a file source has them once a second) sends up to a
// second later. That was the 1-second stall at p95 of a recorded call's first frame.
//
// So while a leg has no keys, the relay keeps the video meant for it from the latest
// keyframe's first packet on, and sends it as soon as the keys come. Video it could not
// keep (no keyframe seen yet, or too much of it) is made good with a keyframe request to
// the sender instead.

// maxHeld bounds the packets held for one leg: a keyframe and a few frames after it.
const maxHeld = 256

// heldVideo is the video waiting for a leg's keys, guarded by the leg's wmu.
type heldVideo struct {
	pkts [][]byte // plain RTP as the relay sends it, from a keyframe's first packet
	lost bool     // video was dropped since the last keyframe held
}

// add keeps a copy of plain, a video packet with payload, when it belongs to the held run.
func (h *heldVideo) add(payload, plain []byte) {
	switch {
	case vp8KeyframeStart(payload):
		h.pkts = append(h.pkts[:0], append([]byte(nil), plain...))
		h.lost = false
	case len(h.pkts) == 0:
		h.lost = true
	case len(h.pkts) >= maxHeld:
		h.pkts, h.lost = nil, true
	default:
		h.pkts = append(h.pkts, append([]byte(nil), plain...))
	}
}

// take empties h and returns what it held, and whether video was lost besides.
func (h *heldVideo) take() (pkts [][]byte, lost bool) {
	pkts, lost = h.pkts, h.lost
	h.pkts, h.lost = nil, false
	return pkts, lost
}

// vp8KeyframeStart reports whether an RTP payload is the first packet of a VP8 keyframe:
// the start of partition 0 (RFC 7741 §4.2) whose frame tag has the key bit clear (RFC 6386
// §9.1).
func vp8KeyframeStart(payload []byte) bool {
	var p codecs.VP8Packet
	if _, err := p.Unmarshal(payload); err != nil {
		return false
	}
	return p.S == 1 && p.PID == 0 && len(p.Payload) > 0 && p.Payload[0]&1 == 0
}
