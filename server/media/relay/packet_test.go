package relay

import (
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/duet-rtc/duet/protocol"

	"github.com/duet-rtc/duet/internal/leaktest"
)

// rawPeer is a bare pion peer (no interceptors) in an audio call through the relay, so that
// a test sees exactly the RTCP the relay forwards.
type rawPeer struct {
	pc     *webrtc.PeerConnection
	track  *webrtc.TrackLocalStaticRTP
	sender *webrtc.RTPSender
	remote chan *webrtc.TrackRemote
	recv   chan *webrtc.RTPReceiver
	up     chan struct{}
}

func joinRaw(t *testing.T, c *Call, side Side, dev string) *rawPeer {
	t.Helper()
	pc, err := newGenAPI().NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	p := &rawPeer{pc: pc, remote: make(chan *webrtc.TrackRemote, 1), recv: make(chan *webrtc.RTPReceiver, 1), up: make(chan struct{})}
	p.track, _ = webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "audio", dev)
	if p.sender, err = pc.AddTrack(p.track); err != nil {
		t.Fatal(err)
	}
	pc.OnTrack(func(tr *webrtc.TrackRemote, r *webrtc.RTPReceiver) { p.remote <- tr; p.recv <- r })
	pc.OnICECandidate(func(cand *webrtc.ICECandidate) {
		if cand != nil {
			init := cand.ToJSON()
			_ = c.AddCandidate(side, dev, protocol.ICECandidate{Candidate: init.Candidate, SDPMid: init.SDPMid, SDPMLineIndex: init.SDPMLineIndex})
		}
	})
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := pc.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	ans, err := c.Offer(side, dev, protocol.SessionDescription{Type: "offer", SDP: offer.SDP}, LegEvents{
		OnCandidate: func(cand protocol.ICECandidate) {
			_ = pc.AddICECandidate(webrtc.ICECandidateInit{Candidate: cand.Candidate, SDPMid: cand.SDPMid, SDPMLineIndex: cand.SDPMLineIndex})
		},
		OnConnected: func() { close(p.up) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: ans.SDP}); err != nil {
		t.Fatal(err)
	}
	return p
}

func (p *rawPeer) ssrc() uint32 { return uint32(p.sender.GetParameters().Encodings[0].SSRC) }

func waitFor[T any](t *testing.T, what string, ch chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(20 * time.Second):
		t.Fatalf("no %s within 20 s", what)
		panic("unreachable")
	}
}

// rtcpOf reads RTCP from read until keep accepts a packet, which it returns.
func rtcpOf(t *testing.T, what string, read func() ([]rtcp.Packet, interceptor.Attributes, error), keep func(rtcp.Packet) bool) rtcp.Packet {
	t.Helper()
	got := make(chan rtcp.Packet, 1)
	go func() {
		for {
			pkts, _, err := read()
			if err != nil {
				return
			}
			for _, p := range pkts {
				if keep(p) {
					got <- p
					return
				}
			}
		}
	}()
	return waitFor(t, what, got)
}

// TestRelayForwardsRTCP: reports and feedback travel end to end with each leg's SSRCs: the
// caller's sender report reaches the callee about the relay's stream (and the Tap), and the
// callee's NACK, receiver report and REMB about that stream reach the caller about its own.
// Garbage from a routed address is dropped.
func TestRelayForwardsRTCP(t *testing.T) {
	leaktest.Check(t)
	r, err := New(Config{LoopbackOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	tp := &seqTap{seen: map[uint16]int{}}
	c, _, err := r.Open("rtcp", CallConfig{Audio: true, Tap: tp, Active: func() string { return "b" }})
	if err != nil {
		t.Fatal(err)
	}
	a, b := joinRaw(t, c, Caller, "a"), joinRaw(t, c, Callee, "b")
	waitFor(t, "caller leg", a.up)
	waitFor(t, "callee leg", b.up)

	// Media both ways, so that each side has a remote track and the relay knows the SSRCs.
	stop := make(chan struct{})
	defer close(stop)
	for _, p := range []*rawPeer{a, b} {
		go func() {
			pkt := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: opusPayloadType}, Payload: make([]byte, 80)}
			tick := time.NewTicker(20 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-stop:
					return
				case <-tick.C:
					pkt.SequenceNumber++
					pkt.Timestamp += 960
					_ = p.track.WriteRTP(pkt)
				}
			}
		}()
	}
	atB, recvB := waitFor(t, "callee's remote track", b.remote), waitFor(t, "callee's receiver", b.recv)
	relaySSRC := uint32(atB.SSRC()) // the relay's stream to the callee
	if relaySSRC == a.ssrc() {
		t.Fatal("the relay did not give the callee's stream an SSRC of its own")
	}
	waitFor(t, "caller's remote track", a.remote)

	const ntp = 0x0102030405060708
	const lsr = uint32((ntp >> 16) & 0xffffffff) // the middle 32 bits
	if err := a.pc.WriteRTCP([]rtcp.Packet{&rtcp.SenderReport{SSRC: a.ssrc(), NTPTime: ntp, RTPTime: 960}}); err != nil {
		t.Fatal(err)
	}
	sr := rtcpOf(t, "sender report at the callee", recvB.ReadRTCP, func(p rtcp.Packet) bool {
		s, ok := p.(*rtcp.SenderReport)
		return ok && s.NTPTime == ntp
	}).(*rtcp.SenderReport)
	if sr.SSRC != relaySSRC {
		t.Errorf("sender report reached the callee about %x, want the relay's stream %x", sr.SSRC, relaySSRC)
	}
	if tp.reports.Load() == 0 {
		t.Error("the Tap saw no sender report")
	}

	feedback := []rtcp.Packet{
		&rtcp.ReceiverReport{SSRC: b.ssrc(), Reports: []rtcp.ReceptionReport{{SSRC: relaySSRC, FractionLost: 64, LastSenderReport: lsr}}},
		&rtcp.TransportLayerNack{SenderSSRC: b.ssrc(), MediaSSRC: relaySSRC, Nacks: []rtcp.NackPair{{PacketID: 7}}},
		&rtcp.ReceiverEstimatedMaximumBitrate{SenderSSRC: b.ssrc(), Bitrate: 123456, SSRCs: []uint32{relaySSRC}},
	}
	if err := b.pc.WriteRTCP(feedback); err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"rr": false, "nack": false, "remb": false}
	rtcpOf(t, "the callee's feedback at the caller", a.sender.ReadRTCP, func(p rtcp.Packet) bool {
		switch p := p.(type) {
		case *rtcp.ReceiverReport:
			want["rr"] = len(p.Reports) == 1 && p.Reports[0].SSRC == a.ssrc() && p.Reports[0].FractionLost == 64 && p.Reports[0].LastSenderReport == lsr
		case *rtcp.TransportLayerNack:
			want["nack"] = p.MediaSSRC == a.ssrc() && len(p.Nacks) == 1 && p.Nacks[0].PacketID == 7
		case *rtcp.ReceiverEstimatedMaximumBitrate:
			want["remb"] = len(p.SSRCs) == 1 && p.SSRCs[0] == a.ssrc() && p.Bitrate == 123456
		}
		return want["rr"] && want["nack"] && want["remb"]
	})

	// A retransmission (the same packet again, as a sender answers a NACK) is forwarded.
	resend := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: opusPayloadType, SequenceNumber: 40000, Timestamp: 1}, Payload: make([]byte, 80)}
	for range 2 {
		if err := a.track.WriteRTP(resend); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	deadline := time.Now().Add(10 * time.Second)
	for tp.count(40000) < 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := tp.count(40000); n != 2 {
		t.Errorf("a packet sent twice was forwarded %d times", n)
	}

	// Garbage that looks like SRTP or SRTCP, from the callee's routed address: dropped, no
	// panic, and media still flows.
	l := c.active[Callee].Load()
	sock := l.path.Load().sock
	m := &mediaSocket{Conn: sock.Conn, conn: sock.conn, scratch: newScratch()} // the reader's scratch is its own
	rng := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		junk := make([]byte, 1+rng.IntN(300))
		for i := range junk {
			junk[i] = byte(rng.Uint32())
		}
		junk[0] = 128 + byte(rng.IntN(64))
		if rng.IntN(2) == 0 && len(junk) > 1 {
			junk[1] = 192 + byte(rng.IntN(32))
		}
		l.receive(m, junk)
	}
	before := r.Stats().PacketsOut
	deadline = time.Now().Add(10 * time.Second)
	for r.Stats().PacketsOut < before+10 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if r.Stats().PacketsOut < before+10 {
		t.Error("forwarding stopped after garbage")
	}
}

// seqTap counts the caller's packets by sequence number.
type seqTap struct {
	tap
	mu   sync.Mutex
	seen map[uint16]int
}

func (s *seqTap) RTP(side Side, kind Kind, pkt *rtp.Packet, at time.Time) {
	if side == Caller {
		s.mu.Lock()
		s.seen[pkt.SequenceNumber]++
		s.mu.Unlock()
	}
}

func (s *seqTap) count(seq uint16) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.seen[seq]
}
