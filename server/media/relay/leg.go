package relay

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/duet-rtc/duet/internal/pionread"
	"github.com/duet-rtc/duet/protocol"
)

// leg is one device's PeerConnection to the relay.
type leg struct {
	c      *Call
	side   Side
	device string
	ev     LegEvents
	pc     *webrtc.PeerConnection

	out      [2]*webrtc.TrackLocalStaticRTP // what the other party's media is written to, by Kind
	inSSRC   [2]atomic.Uint32               // the device's media SSRCs, by Kind (0: not yet)
	lastPLI  atomic.Int64                   // unix nanos of the last PLI sent to this device
	closed   atomic.Bool
	notified atomic.Bool // OnClosed fired (or must not)

	sigMu     sync.Mutex
	remoteSet bool
	pending   []webrtc.ICECandidateInit
}

// maxPendingCandidates bounds the candidates a leg queues before its offer is applied.
const maxPendingCandidates = 32

func newLeg(c *Call, side Side, device string, ev LegEvents) (*leg, error) {
	pc, err := c.r.api.NewPeerConnection(webrtc.Configuration{
		BundlePolicy:  webrtc.BundlePolicyMaxBundle,
		RTCPMuxPolicy: webrtc.RTCPMuxPolicyRequire,
	})
	if err != nil {
		return nil, fmt.Errorf("relay: new peer connection: %w", err)
	}
	l := &leg{c: c, side: side, device: device, ev: ev, pc: pc}
	kinds := []struct {
		k    Kind
		on   bool
		capa webrtc.RTPCodecCapability
	}{
		{Audio, c.cfg.Audio, webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}},
		{Video, c.cfg.Video, webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}},
	}
	for _, k := range kinds {
		if !k.on {
			continue
		}
		track, err := webrtc.NewTrackLocalStaticRTP(k.capa, k.k.String(), "duet-relay")
		if err != nil {
			pc.Close()
			return nil, err
		}
		l.out[k.k] = track
	}
	pc.OnICECandidate(func(cand *webrtc.ICECandidate) {
		if cand == nil || l.ev.OnCandidate == nil || l.closed.Load() {
			return
		}
		init := cand.ToJSON()
		l.ev.OnCandidate(protocol.ICECandidate{Candidate: init.Candidate, SDPMid: init.SDPMid, SDPMLineIndex: init.SDPMLineIndex})
	})
	var connected atomic.Bool
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		switch s {
		case webrtc.PeerConnectionStateConnected:
			if !connected.Swap(true) && l.ev.OnConnected != nil && !l.closed.Load() {
				l.ev.OnConnected()
			}
		case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed:
			go l.close(true)
		}
	})
	pc.OnTrack(l.onTrack)
	c.r.stats.legs.Add(1)
	return l, nil
}

// answer applies the device's offer, attaches the outgoing tracks to the transceivers it
// created, and returns the answer.
func (l *leg) answer(offer protocol.SessionDescription) (protocol.SessionDescription, error) {
	l.sigMu.Lock()
	defer l.sigMu.Unlock()
	var ans webrtc.SessionDescription
	err := guard(func() error {
		if err := l.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer.SDP}); err != nil {
			return err
		}
		for k, track := range l.out {
			if track == nil {
				continue
			}
			sender, err := l.pc.AddTrack(track)
			if err != nil {
				return fmt.Errorf("%s track: %w", Kind(k), err)
			}
			l.readSenderRTCP(Kind(k), sender)
		}
		var err error
		if ans, err = l.pc.CreateAnswer(nil); err != nil {
			return err
		}
		return l.pc.SetLocalDescription(ans)
	})
	if err != nil {
		return protocol.SessionDescription{}, fmt.Errorf("relay: answer: %w", err)
	}
	l.remoteSet = true
	for _, cand := range l.pending {
		_ = l.pc.AddICECandidate(cand)
	}
	l.pending = nil
	return protocol.SessionDescription{Type: "answer", SDP: ans.SDP}, nil
}

// guard runs f and turns a panic inside pion on a malformed description into an error: no
// input from the network may take the server down.
func guard(f func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("malformed description: %v", p)
		}
	}()
	return f()
}

func (l *leg) addCandidate(cand protocol.ICECandidate) error {
	if len(cand.Candidate) > protocol.MaxCandidate {
		return errors.New("relay: candidate too long")
	}
	init := webrtc.ICECandidateInit{Candidate: cand.Candidate, SDPMid: cand.SDPMid, SDPMLineIndex: cand.SDPMLineIndex}
	l.sigMu.Lock()
	defer l.sigMu.Unlock()
	if !l.remoteSet {
		if len(l.pending) >= maxPendingCandidates {
			return errors.New("relay: too many early candidates")
		}
		l.pending = append(l.pending, init)
		return nil
	}
	if cand.Candidate == "" {
		return nil // end of candidates
	}
	return guard(func() error { return l.pc.AddICECandidate(init) })
}

// close closes the leg's connection. notify fires OnClosed (not for a leg replaced by a new
// offer of the same device).
func (l *leg) close(notify bool) {
	if l.closed.Swap(true) {
		return
	}
	l.c.dropLeg(l)
	_ = l.pc.Close()
	l.c.r.stats.legs.Add(-1)
	if notify && !l.notified.Swap(true) && l.ev.OnClosed != nil {
		l.ev.OnClosed()
	}
}

// goroutine runs f as one of the call's leg goroutines unless the call is closing.
func (l *leg) goroutine(f func()) {
	l.c.mu.Lock()
	closed := l.c.closed
	if !closed {
		l.c.wg.Add(1)
	}
	l.c.mu.Unlock()
	if closed {
		return
	}
	go func() {
		defer l.c.wg.Done()
		f()
	}()
}

// readSenderRTCP reads the RTCP the device sends about what the relay forwards to it: the
// interceptors (NACK responder, reports) see only what is read. PLI and FIR go on to the
// other party's sender.
func (l *leg) readSenderRTCP(k Kind, sender *webrtc.RTPSender) {
	l.goroutine(func() {
		pionread.RTCP(sender, func(pkts []rtcp.Packet) {
			if k != Video {
				return
			}
			for _, p := range pkts {
				switch p.(type) {
				case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
					if src := l.c.target(l.side); src != nil && l.c.active[l.side].Load() == l {
						src.requestKeyframe(true)
					}
				}
			}
		})
	})
}

// requestKeyframe sends the device a PLI for its video, at most once per keyframeThrottle
// when throttled.
func (l *leg) requestKeyframe(throttled bool) {
	ssrc := l.inSSRC[Video].Load()
	if ssrc == 0 || l.closed.Load() {
		return
	}
	now := time.Now().UnixNano()
	if throttled && now-l.lastPLI.Load() < int64(keyframeThrottle) {
		return
	}
	l.lastPLI.Store(now)
	if err := l.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: ssrc}}); err == nil {
		l.c.r.stats.keyframeRequests.Add(1)
	}
}

// onTrack forwards one remote track for as long as the leg lives, and reads its receiver's
// RTCP (sender reports go to the Tap).
func (l *leg) onTrack(track *webrtc.TrackRemote, recv *webrtc.RTPReceiver) {
	k := Audio
	if track.Kind() == webrtc.RTPCodecTypeVideo {
		k = Video
	}
	if l.out[k] == nil {
		return // a kind the call does not carry
	}
	l.inSSRC[k].Store(uint32(track.SSRC()))
	l.goroutine(func() { l.readReceiverRTCP(k, recv) })
	l.goroutine(func() { l.forward(k, track) })
}

func (l *leg) readReceiverRTCP(k Kind, recv *webrtc.RTPReceiver) {
	pionread.RTCP(recv, func(pkts []rtcp.Packet) {
		tap := l.c.cfg.Tap
		if tap == nil {
			return
		}
		for _, p := range pkts {
			if sr, ok := p.(*rtcp.SenderReport); ok && l.c.isActive(l) {
				tap.SenderReport(l.side, k, sr, time.Now())
			}
		}
	})
}

// forward is the packet path: read, parse in place, forward to the other party's active
// leg, show the Tap. Header extensions are dropped: their ids were negotiated on this leg
// and may mean something else on the other.
func (l *leg) forward(k Kind, track *webrtc.TrackRemote) {
	st := &l.c.r.stats
	buf := make([]byte, 1500)
	var pkt rtp.Packet
	var bad pionread.Errors
	tap := l.c.cfg.Tap
	for {
		n, _, err := track.Read(buf)
		if err != nil {
			if bad.Stop(err) {
				return
			}
			continue
		}
		bad = 0
		if err := pkt.Unmarshal(buf[:n]); err != nil {
			continue
		}
		st.packetsIn.Add(1)
		st.bytesIn.Add(uint64(len(pkt.Payload)))
		if !l.c.isActive(l) {
			st.dropped.Add(1)
			continue
		}
		pkt.Header.Extension = false
		pkt.Header.Extensions = pkt.Header.Extensions[:0]
		if dst := l.c.target(l.side); dst != nil && dst.out[k] != nil {
			if err := dst.out[k].WriteRTP(&pkt); err != nil {
				st.writeErrors.Add(1)
			} else {
				st.packetsOut.Add(1)
			}
		} else {
			st.dropped.Add(1)
		}
		if tap != nil {
			tap.RTP(l.side, k, &pkt, time.Now())
		}
	}
}
