package relay

import (
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/srtp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/duet-rtc/duet/protocol"
)

// leg is one device's connection to the relay. pion negotiates it (SDP, ICE, DTLS); the
// relay's packet path (packet.go) then owns its SRTP and SRTCP both ways.
type leg struct {
	c      *Call
	side   Side
	device string
	ev     LegEvents
	pc     *webrtc.PeerConnection
	keys   *dtlsKeys

	outSSRC [2]atomic.Uint32 // what the relay sends the device, by Kind (0: not carried)
	outPT   [2]atomic.Uint32
	inSSRC  [2]atomic.Uint32 // the device's media SSRCs, by Kind (0: not yet)
	lastPLI atomic.Int64     // unix nanos of the last PLI sent to this device
	pliLost atomic.Bool      // a keyframe request was due before the leg had keys
	path    atomic.Pointer[path]

	rmu      sync.Mutex    // held while a datagram from the device is handled
	remote   *srtp.Context // unprotects what the device sends; nil until DTLS is done
	early    [][]byte      // SRTP the device sent while remote was nil (packet.go)
	unsent   unsentVideo   // video from the device that went nowhere (held.go)
	kindOfPT [128]int8     // the kind a payload type the device sends carries, -1: none
	wmu      sync.Mutex    // held while a datagram to the device is protected
	local    *srtp.Context // protects what the relay sends
	held     heldVideo     // video for the device while local is nil (held.go)

	closed   atomic.Bool
	notified atomic.Bool // OnClosed fired (or must not)

	sigMu     sync.Mutex
	remoteSet bool
	pending   []webrtc.ICECandidateInit
}

// path is where a leg's datagrams go: the relay socket and the device's address of the
// selected ICE candidate pair.
type path struct {
	sock *mediaSocket
	addr netip.AddrPort
}

// maxPendingCandidates bounds the candidates a leg queues before its offer is applied.
const maxPendingCandidates = 32

func newLeg(c *Call, side Side, device string, ev LegEvents) (*leg, error) {
	keys := &dtlsKeys{}
	api, err := c.r.legAPI(keys)
	if err != nil {
		return nil, fmt.Errorf("relay: %w", err)
	}
	pc, err := api.NewPeerConnection(webrtc.Configuration{
		BundlePolicy:  webrtc.BundlePolicyMaxBundle,
		RTCPMuxPolicy: webrtc.RTCPMuxPolicyRequire,
	})
	if err != nil {
		return nil, fmt.Errorf("relay: new peer connection: %w", err)
	}
	l := &leg{c: c, side: side, device: device, ev: ev, pc: pc, keys: keys}
	for i := range l.kindOfPT {
		l.kindOfPT[i] = -1
	}
	pc.OnICECandidate(func(cand *webrtc.ICECandidate) {
		if cand == nil || l.ev.OnCandidate == nil || l.closed.Load() {
			return
		}
		init := cand.ToJSON()
		l.ev.OnCandidate(protocol.ICECandidate{Candidate: init.Candidate, SDPMid: init.SDPMid, SDPMLineIndex: init.SDPMLineIndex})
	})
	pc.SCTP().Transport().ICETransport().OnSelectedCandidatePairChange(l.route)
	var connected atomic.Bool
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		switch s {
		case webrtc.PeerConnectionStateConnected:
			if connected.Swap(true) {
				return
			}
			if err := l.startSRTP(); err != nil {
				c.r.log.Warn("relay leg without SRTP keys", "call", c.id, "device", device, "err", err)
				go l.close(true)
				return
			}
			if l.ev.OnConnected != nil && !l.closed.Load() {
				l.ev.OnConnected()
			}
		case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed:
			go l.close(true)
		}
	})
	// The device's SSRCs are in its offer: knowing them before the first packet lets the
	// relay ask for a keyframe as soon as the call is answered.
	pc.OnTrack(func(track *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		if k := kindOf(track.Kind()); l.outSSRC[k].Load() != 0 {
			l.inSSRC[k].Store(uint32(track.SSRC()))
		}
	})
	c.r.stats.legs.Add(1)
	return l, nil
}

func kindOf(t webrtc.RTPCodecType) Kind {
	if t == webrtc.RTPCodecTypeVideo {
		return Video
	}
	return Audio
}

// answer applies the device's offer, adds a track of each kind the call carries, and
// returns the answer. The tracks are never written through pion: they only put the relay's
// SSRCs and payload types into the answer, which the packet path then uses.
func (l *leg) answer(offer protocol.SessionDescription) (protocol.SessionDescription, error) {
	l.sigMu.Lock()
	defer l.sigMu.Unlock()
	var ans webrtc.SessionDescription
	err := guard(func() error {
		if err := l.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer.SDP}); err != nil {
			return err
		}
		for _, k := range []Kind{Audio, Video} {
			if !l.c.carries(k) {
				continue
			}
			if err := l.addTrack(k); err != nil {
				return err
			}
		}
		l.learnPayloadTypes()
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

// addTrack adds the track the other party's media of kind k reaches the device on, and
// notes the SSRC and payload type it was given.
func (l *leg) addTrack(k Kind) error {
	capa := webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}
	if k == Video {
		capa = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}
	}
	track, err := webrtc.NewTrackLocalStaticRTP(capa, k.String(), "duet-relay")
	if err != nil {
		return err
	}
	sender, err := l.pc.AddTrack(track)
	if err != nil {
		return fmt.Errorf("%s track: %w", k, err)
	}
	p := sender.GetParameters()
	if len(p.Encodings) == 0 || len(p.Codecs) == 0 {
		return fmt.Errorf("%s track: no encoding", k)
	}
	l.outPT[k].Store(uint32(p.Codecs[0].PayloadType))
	l.outSSRC[k].Store(uint32(p.Encodings[0].SSRC))
	return nil
}

// learnPayloadTypes maps the payload types the device may send to their kinds, from the
// negotiated transceivers.
func (l *leg) learnPayloadTypes() {
	l.rmu.Lock()
	defer l.rmu.Unlock()
	for _, tr := range l.pc.GetTransceivers() {
		k := kindOf(tr.Kind())
		if l.outSSRC[k].Load() == 0 || tr.Receiver() == nil {
			continue
		}
		for _, codec := range tr.Receiver().GetParameters().Codecs {
			if codec.PayloadType < 128 {
				l.kindOfPT[codec.PayloadType] = int8(k)
			}
		}
	}
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

// startSRTP derives the leg's SRTP contexts once DTLS is up, routes the leg if ICE has not
// reported its pair yet, and sends the video held for it (held.go). What it could not hold,
// and a keyframe request the leg could not be sent, become keyframe requests now.
func (l *leg) startSRTP() error {
	local, remote, err := l.keys.srtpContexts()
	if err != nil {
		return err
	}
	l.useKeys(local, remote)
	return nil
}

// useKeys installs the leg's SRTP contexts: see startSRTP.
func (l *leg) useKeys(local, remote *srtp.Context) {
	if l.path.Load() == nil {
		if pair, err := l.pc.SCTP().Transport().ICETransport().GetSelectedCandidatePair(); err == nil && pair != nil {
			l.route(pair)
		}
	}
	l.rmu.Lock()
	l.remote = remote
	l.rmu.Unlock()
	l.wmu.Lock()
	l.local = local
	pkts, lost := l.held.take()
	l.sendHeldUnlocked(pkts)
	l.wmu.Unlock()
	if sender := l.c.active[l.side.other()].Load(); lost && sender != nil && l.c.isActive(l) {
		sender.requestKeyframe(false)
	}
	if l.pliLost.Swap(false) {
		l.requestKeyframe(false)
	}
}

// sendHeldUnlocked protects and sends held packets, in order; the caller holds wmu, so that
// nothing forwarded later overtakes them.
func (l *leg) sendHeldUnlocked(pkts [][]byte) {
	p := l.path.Load()
	if p == nil {
		return
	}
	for _, plain := range pkts {
		sealed, err := l.local.EncryptRTP(nil, plain, nil)
		if err != nil {
			continue
		}
		if _, err := p.sock.WriteToAddrPort(sealed, p.addr); err == nil {
			l.c.r.stats.held.Add(1) // counted out when it was held
		}
	}
}

// route makes the relay's packet path send to and take from the pair's remote address.
func (l *leg) route(pair *webrtc.ICECandidatePair) {
	if pair == nil || pair.Remote == nil || pair.Local == nil || l.closed.Load() {
		return
	}
	remote, err := netip.ParseAddr(pair.Remote.Address)
	if err != nil {
		return
	}
	local, _ := netip.ParseAddr(pair.Local.Address)
	p := &path{sock: l.c.r.router.sockFor(local), addr: netip.AddrPortFrom(remote.Unmap(), pair.Remote.Port)}
	if p.sock == nil {
		return
	}
	old := l.path.Swap(p)
	if old == nil {
		old = p
	}
	l.c.r.router.move(old.addr, p.addr, l)
}

// close closes the leg's connection. notify fires OnClosed (not for a leg replaced by a new
// offer of the same device). When it returns the packet path no longer runs for the leg.
func (l *leg) close(notify bool) {
	if l.closed.Swap(true) {
		return
	}
	if p := l.path.Load(); p != nil {
		l.c.r.router.remove(p.addr, l)
	}
	l.rmu.Lock() // wait for a datagram being handled: no Tap call after this
	l.remote = nil
	l.early = nil
	l.unsent = unsentVideo{}
	l.rmu.Unlock()
	l.c.dropLeg(l)
	_ = l.pc.Close()
	l.c.r.stats.legs.Add(-1)
	if notify && !l.notified.Swap(true) && l.ev.OnClosed != nil {
		l.ev.OnClosed()
	}
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
	pli := &rtcp.PictureLossIndication{SenderSSRC: l.outSSRC[Video].Load(), MediaSSRC: ssrc}
	switch err := l.sendRTCP([]rtcp.Packet{pli}); {
	case err == nil:
		l.c.r.stats.keyframeRequests.Add(1)
	case errors.Is(err, errNoPath):
		l.pliLost.Store(true) // startSRTP sends it
	}
}
