package relay

import (
	"time"

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

// The same loss happens on the way in. A caller sends while the call rings (its warm-up
// video goes nowhere), and a callee's first packets may come a moment before the relay knows
// the call is answered: either way the sender's keyframe is dropped, and a keyframe request
// right after it is ignored by a sender that has just sent one. So a leg also keeps what it
// sent that went nowhere, from its latest keyframe, and forwards it first once its packets
// have somewhere to go, if the keyframe is recent: an older one is not worth the burst, and
// the keyframe request the relay sends at the answer is honoured by then.

// maxUnsentAge is the oldest keyframe a leg's unsent video is forwarded from.
const maxUnsentAge = 500 * time.Millisecond

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

// unsentVideo is the video from a leg that went nowhere, from its latest keyframe on,
// guarded by the leg's rmu.
type unsentVideo struct {
	heldVideo
	keyAt time.Time // when the keyframe came
}

// add keeps a copy of plain, received at now, when it belongs to the kept run.
func (u *unsentVideo) add(payload, plain []byte, now time.Time) {
	u.heldVideo.add(payload, plain)
	if len(u.pkts) == 1 {
		u.keyAt = now
	}
}

// take empties u and returns the packets to forward: none if the keyframe is older than
// maxUnsentAge at now.
func (u *unsentVideo) take(now time.Time) [][]byte {
	pkts, _ := u.heldVideo.take()
	if now.Sub(u.keyAt) > maxUnsentAge {
		return nil
	}
	return pkts
}
