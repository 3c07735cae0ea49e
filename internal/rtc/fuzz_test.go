package rtc

import (
	"testing"

	"github.com/duet-rtc/duet/protocol"
)

// FuzzRemoteInput feeds arbitrary descriptions and candidates to a fresh Peer: errors are
// fine, panics and hangs are not.
func FuzzRemoteInput(f *testing.F) {
	seed, err := NewPeer(Config{Audio: true, Video: true, LoopbackOnly: true}, Events{})
	if err != nil {
		f.Fatal(err)
	}
	offer, err := seed.CreateOffer()
	seed.Close()
	if err != nil {
		f.Fatal(err)
	}
	f.Add("offer", offer.SDP, "candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host")
	f.Add("answer", offer.SDP, "")
	f.Add("offer", "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:96 VP8/90000\r\n", "candidate:x 1 udp 1 ::1 1 typ relay raddr 1 rport 2")
	f.Add("offer", offer.SDP[:len(offer.SDP)/2], "candidate:1 1 tcp 1 127.0.0.1 9 typ host tcptype active")
	f.Fuzz(func(t *testing.T, typ, sdp, cand string) {
		p, err := NewPeer(Config{Audio: true, Video: true, LoopbackOnly: true}, Events{})
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		_ = p.AddCandidate(protocol.ICECandidate{Candidate: cand})
		_, _ = p.HandleDescription(protocol.SessionDescription{Type: typ, SDP: sdp})
		_ = p.AddCandidate(protocol.ICECandidate{Candidate: cand})
	})
}
