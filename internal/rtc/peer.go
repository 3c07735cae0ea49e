// Package rtc is the SDK's peer connection for one call leg, built on pion/webrtc: Opus and
// VP8, trickle ICE, and a transport that can come up while the call still rings
// (pre-connect) and carry no media until StartSending.
//
// Threading: every Peer method is safe for concurrent use. Events are delivered one at a
// time, in order, on a goroutine of the Peer's that is neither pion's nor the caller's; a
// callback may call any Peer method, Close included, and should return promptly.
//
// Ownership: the Peer owns the Sources it is given (StartSending, ReplaceVideoSource) and
// closes them when replaced or at Close. It does not own Sinks: the caller closes them, after
// Close (from which on no sink is written) or after replacing them with SetSinks (a packet
// already on its way may still reach the old sink; the media package's sinks ignore writes
// after Close). Sinks are called on the Peer's reader goroutines and must not call Close.
package rtc

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/duet-rtc/duet/internal/pionread"
	"github.com/duet-rtc/duet/internal/quality"
	"github.com/duet-rtc/duet/media"
	"github.com/duet-rtc/duet/protocol"
	"github.com/pion/rtcp"
	"github.com/pion/transport/v5"
	"github.com/pion/webrtc/v4"
)

const (
	kindAudio = "audio"
	kindVideo = "video"
)

// Config shapes a Peer.
type Config struct {
	// ICEServers are the STUN and TURN servers, as the server hands them out per call.
	ICEServers []protocol.ICEServer
	// LoopbackOnly restricts ICE to UDP over 127.0.0.0/8 with mDNS off: nothing is gathered
	// on, or sent to, any other address. Tests on shared machines need it.
	LoopbackOnly bool
	// IPFilter, if set, keeps only the local and remote candidate addresses it accepts. It
	// combines with LoopbackOnly.
	IPFilter func(net.IP) bool
	// RelayOnly uses TURN relay candidates only (ICE transport policy "relay").
	RelayOnly bool
	// Net, if set, replaces the operating system's network: tests pass pion's vnet to put
	// loss, delay and blackouts between two peers. ICE then uses UDP4 on it only.
	Net transport.Net
	// Bandwidth is what this side allows its encoders and asks of the peer.
	Bandwidth Bandwidth
	// Audio and Video choose the tracks: a voice call has audio only. At least one is needed.
	Audio, Video bool
	// Logger receives the Peer's and pion's logs; nil discards them.
	Logger *slog.Logger
}

func (cfg Config) logger() *slog.Logger {
	if cfg.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return cfg.Logger
}

// Events are the Peer's callbacks; any may be nil. See the package comment for threading.
type Events struct {
	// OnLocalCandidate trickles each gathered local candidate, to be sent to the other side.
	OnLocalCandidate func(protocol.ICECandidate)
	// OnConnected fires once, when ICE and DTLS are up, with how media flows.
	OnConnected func(protocol.ConnectType)
	// OnFailed fires once, when the connection fails or closes other than by Close; with
	// ErrClosedByRemote when the remote closed it.
	OnFailed func(error)
	// OnRemoteTrack fires once per kind ("audio" or "video") with the time the first packet
	// of the remote track arrived.
	OnRemoteTrack func(kind string, firstPacketAt time.Time)
}

// Peer is one call leg's peer connection.
type Peer struct {
	pc     *webrtc.PeerConnection
	log    *slog.Logger
	events Events
	ev     dispatcher

	audio, video *pump // nil when the Config leaves that kind out

	audioSink, videoSink atomic.Pointer[sinkRef]
	remoteVideoSSRC      atomic.Uint32 // 0 until the remote video track arrives
	sent, recv           [2]rtpCounter // by kindIndex
	link                 [2]linkStats  // by kindIndex
	rtt                  atomic.Int64  // nanoseconds; 0 unknown
	lastRecv             atomic.Int64  // unix nanoseconds of the last RTP or RTCP in
	remoteW, remoteH     atomic.Int32  // last received keyframe's size

	bw       Bandwidth
	rateMu   sync.Mutex
	rate     *quality.RateController // nil without video
	audioCap int                     // the peer's audio limit in bits per second; 0 none

	grab grabber // remote keyframes for snapshots
	stop chan struct{}

	sigMu     sync.Mutex // serialises descriptions and candidates
	remoteSet bool
	pending   []webrtc.ICECandidateInit

	mu        sync.Mutex
	closed    bool
	closeDone chan struct{}
	connected bool
	failed    bool
	sending   bool
	wg        sync.WaitGroup // reader goroutines
}

// sinkRef lets an interface value live in an atomic.Pointer.
type sinkRef struct{ s media.Sink }

// NewPeer creates the peer connection with sendrecv transceivers for the kinds cfg asks for.
// Nothing is sent until StartSending. The caller offers with CreateOffer; the callee passes
// the offer to HandleDescription.
func NewPeer(cfg Config, ev Events) (*Peer, error) {
	if !cfg.Audio && !cfg.Video {
		return nil, errors.New("rtc: a peer needs audio, video or both")
	}
	api, err := newAPI(cfg)
	if err != nil {
		return nil, fmt.Errorf("rtc: %w", err)
	}
	pcCfg := webrtc.Configuration{
		BundlePolicy:  webrtc.BundlePolicyMaxBundle,
		RTCPMuxPolicy: webrtc.RTCPMuxPolicyRequire,
	}
	for _, s := range cfg.ICEServers {
		pcCfg.ICEServers = append(pcCfg.ICEServers, webrtc.ICEServer{
			URLs: s.URLs, Username: s.Username, Credential: s.Credential,
		})
	}
	if cfg.RelayOnly {
		pcCfg.ICETransportPolicy = webrtc.ICETransportPolicyRelay
	}
	pc, err := api.NewPeerConnection(pcCfg)
	if err != nil {
		return nil, fmt.Errorf("rtc: new peer connection: %w", err)
	}
	p := &Peer{pc: pc, log: cfg.logger(), events: ev, closeDone: make(chan struct{}), bw: cfg.Bandwidth, stop: make(chan struct{})}
	for i := range p.link {
		p.link[i].remoteLoss.Store(-1)
	}
	if cfg.Video {
		p.rate = quality.NewRateController(cfg.Bandwidth.MinVideoKbps*1000, cfg.Bandwidth.MaxVideoKbps*1000, cfg.Bandwidth.startVideo())
	}

	if cfg.Audio {
		if p.audio, err = p.addTrack(kindAudio, webrtc.MimeTypeOpus, 48000, 2); err != nil {
			pc.Close()
			return nil, err
		}
	}
	if cfg.Video {
		if p.video, err = p.addTrack(kindVideo, webrtc.MimeTypeVP8, 90000, 0); err != nil {
			pc.Close()
			return nil, err
		}
	}
	pc.OnICECandidate(p.onLocalCandidate)
	pc.OnConnectionStateChange(p.onState)
	pc.OnTrack(p.onTrack)
	for _, pu := range []*pump{p.audio, p.video} {
		if pu != nil {
			go pu.run()
		}
	}
	if p.audio != nil {
		p.audio.setBitrate(p.bw.audio(0))
	}
	if p.video != nil {
		p.video.setBitrate(p.rate.Target())
		if p.bw.MaxVideoKbps > 0 {
			p.wg.Add(1)
			go p.sendREMB()
		}
	}
	return p, nil
}

// addTrack adds a sendrecv transceiver with a local track, and the goroutine that reads its
// sender's RTCP: interceptors (NACK responder, reports) only see RTCP that is read, and PLI
// and FIR for our video arrive there.
func (p *Peer) addTrack(kind, mime string, clockRate uint32, channels uint16) (*pump, error) {
	track, err := webrtc.NewTrackLocalStaticRTP(
		webrtc.RTPCodecCapability{MimeType: mime, ClockRate: clockRate, Channels: channels},
		kind, "duet")
	if err != nil {
		return nil, fmt.Errorf("rtc: %s track: %w", kind, err)
	}
	tr, err := p.pc.AddTransceiverFromTrack(track,
		webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendrecv})
	if err != nil {
		return nil, fmt.Errorf("rtc: %s transceiver: %w", kind, err)
	}
	pu := newPump(kind, track, clockRate, &p.sent[kindIndex(kind)], p.log)
	sender := tr.Sender()
	var ssrc uint32
	if enc := sender.GetParameters().Encodings; len(enc) > 0 {
		ssrc = uint32(enc[0].SSRC)
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		pionread.RTCP(sender, func(pkts []rtcp.Packet) {
			p.touch()
			p.senderRTCP(kind, ssrc, pu, pkts)
		})
	}()
	return pu, nil
}

// CreateOffer creates the offer, sets it as the local description and returns it. ICE
// gathering starts now; candidates follow through OnLocalCandidate.
func (p *Peer) CreateOffer() (protocol.SessionDescription, error) {
	p.sigMu.Lock()
	defer p.sigMu.Unlock()
	if p.isClosed() {
		return protocol.SessionDescription{}, errClosed
	}
	offer, err := p.pc.CreateOffer(nil)
	if err != nil {
		return protocol.SessionDescription{}, fmt.Errorf("rtc: create offer: %w", err)
	}
	if err := p.pc.SetLocalDescription(offer); err != nil {
		return protocol.SessionDescription{}, fmt.Errorf("rtc: set offer: %w", err)
	}
	// The limits go into the copy the peer gets; our own description stays pion's.
	return protocol.SessionDescription{Type: offer.Type.String(), SDP: withBandwidth(offer.SDP, p.bw)}, nil
}

// HandleDescription applies the remote side's description. For an offer it creates, sets
// and returns the answer; for an answer it returns nil. A malformed or unexpected
// description is an error, and queued candidates are applied once it is set.
func (p *Peer) HandleDescription(d protocol.SessionDescription) (*protocol.SessionDescription, error) {
	if len(d.SDP) == 0 || len(d.SDP) > protocol.MaxSDPBytes {
		return nil, fmt.Errorf("rtc: description of %d bytes (want 1 to %d)", len(d.SDP), protocol.MaxSDPBytes)
	}
	var typ webrtc.SDPType
	switch d.Type {
	case "offer":
		typ = webrtc.SDPTypeOffer
	case "answer":
		typ = webrtc.SDPTypeAnswer
	default:
		return nil, fmt.Errorf("rtc: description type %q (want offer or answer)", d.Type)
	}

	p.sigMu.Lock()
	defer p.sigMu.Unlock()
	if p.isClosed() {
		return nil, errClosed
	}
	remote := webrtc.SessionDescription{Type: typ, SDP: d.SDP}
	if err := guard("set remote "+d.Type, func() error { return p.pc.SetRemoteDescription(remote) }); err != nil {
		return nil, err
	}
	p.remoteSet = true
	p.flushCandidates()
	p.applyRemoteBandwidth(d.SDP)
	if typ == webrtc.SDPTypeAnswer {
		return nil, nil
	}
	var answer webrtc.SessionDescription
	err := guard("create answer", func() error {
		var err error
		if answer, err = p.pc.CreateAnswer(nil); err != nil {
			return err
		}
		return p.pc.SetLocalDescription(answer)
	})
	if err != nil {
		return nil, err
	}
	return &protocol.SessionDescription{Type: answer.Type.String(), SDP: withBandwidth(answer.SDP, p.bw)}, nil
}

// ErrClosedByRemote is OnFailed's error when the remote closed the connection (DTLS
// close_notify): a deliberate hang-up or restart on the other side, not a network failure.
var ErrClosedByRemote = errors.New("rtc: the remote closed the connection")

// onState turns pion's connection states into OnConnected and OnFailed. pion runs each
// state callback on a goroutine of its own, so they may arrive out of order: the flags
// keep each event to once, and nothing connects after a failure.
func (p *Peer) onState(s webrtc.PeerConnectionState) {
	switch s {
	case webrtc.PeerConnectionStateConnected:
		p.mu.Lock()
		fire := !p.closed && !p.failed && !p.connected
		p.connected = true
		p.mu.Unlock()
		if !fire {
			return
		}
		for _, pu := range []*pump{p.audio, p.video} {
			if pu != nil {
				pu.update(func() { pu.connected = true })
			}
		}
		ct := p.ConnectType()
		p.log.Debug("peer connected", "connectType", ct)
		if f := p.events.OnConnected; f != nil {
			p.ev.emit(func() { f(ct) })
		}
	case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed:
		p.mu.Lock()
		fire := !p.closed && !p.failed
		p.failed = true
		p.mu.Unlock()
		if !fire {
			return
		}
		for _, pu := range []*pump{p.audio, p.video} {
			if pu != nil {
				pu.update(func() { pu.connected = false })
			}
		}
		err := fmt.Errorf("rtc: connection %s", s)
		if s == webrtc.PeerConnectionStateClosed {
			err = ErrClosedByRemote // not by Close: the remote closed DTLS
		}
		p.log.Debug("peer failed", "err", err)
		if f := p.events.OnFailed; f != nil {
			p.ev.emit(func() { f(err) })
		}
	}
}

// SetSinks sets where received RTP goes; nil discards that kind. It may be called at any
// time. Remote tracks are read whatever the sinks, so that RTCP (reports, NACK) keeps
// flowing. A new video sink is sent a fresh keyframe: the Peer asks the remote for one.
func (p *Peer) SetSinks(audio, video media.Sink) {
	p.audioSink.Store(&sinkRef{audio})
	old := p.videoSink.Swap(&sinkRef{video})
	if video != nil && (old == nil || old.s != video) {
		p.RequestKeyframe()
	}
}

// RequestKeyframe asks the remote sender for a keyframe (RTCP PLI), if a remote video
// track has arrived.
func (p *Peer) RequestKeyframe() {
	ssrc := p.remoteVideoSSRC.Load()
	if ssrc == 0 || p.isClosed() {
		return
	}
	if err := p.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: ssrc}}); err != nil {
		p.log.Debug("PLI not sent", "err", err)
	}
}

// onTrack reads one remote track for as long as the connection lives, passing packets to
// the current sink, and reads its receiver's RTCP so that the interceptors see it.
func (p *Peer) onTrack(track *webrtc.TrackRemote, recv *webrtc.RTPReceiver) {
	if !p.addReader(2) {
		return
	}
	kind := track.Kind().String()
	go func() {
		defer p.wg.Done()
		pionread.RTCP(recv, func([]rtcp.Packet) { p.touch() })
	}()
	defer p.wg.Done()
	sinkOf := &p.audioSink
	if kind == kindVideo {
		sinkOf = &p.videoSink
		p.remoteVideoSSRC.Store(uint32(track.SSRC()))
	}
	count := &p.recv[kindIndex(kind)]
	link := &p.link[kindIndex(kind)]
	var seqs seqTracker
	var asm vp8Assembler
	first := true
	var sinkErr error
	var bad pionread.Errors
	for {
		pkt, _, err := track.ReadRTP()
		if err != nil {
			if bad.Stop(err) {
				return
			}
			continue
		}
		bad = 0
		p.touch()
		count.add(len(pkt.Payload))
		seqs.push(pkt.SequenceNumber, link)
		if kind == kindVideo {
			p.inspectVideo(pkt, &asm)
		} else if len(pkt.Payload) > 0 {
			count.frames.Add(1)
		}
		if first {
			first = false
			at := time.Now()
			if f := p.events.OnRemoteTrack; f != nil {
				p.ev.emit(func() { f(kind, at) })
			}
		}
		ref := sinkOf.Load()
		if ref == nil || ref.s == nil {
			continue
		}
		if err := ref.s.WriteRTP(pkt); err != nil && sinkErr == nil {
			sinkErr = err // logged once per track: a broken sink would flood the log
			p.log.Warn("sink write failed", "kind", kind, "err", err)
		}
	}
}

// addReader registers n reader goroutines unless the peer is closing.
func (p *Peer) addReader(n int) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.wg.Add(n)
	return true
}

func (p *Peer) isClosed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.closed
}

// Close stops sending, closes the connection, waits for the Peer's goroutines and closes
// its sources. No event starts and no sink is written after it returns. Later calls wait
// for the first and return nil.
func (p *Peer) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		<-p.closeDone
		return nil
	}
	p.closed = true
	p.mu.Unlock()
	defer close(p.closeDone)

	close(p.stop)
	p.ev.close()
	var sources []media.Source
	for _, pu := range []*pump{p.audio, p.video} {
		if pu != nil {
			if src := pu.close(); src != nil {
				sources = append(sources, src)
			}
		}
	}
	err := p.pc.GracefulClose()
	p.wg.Wait()
	for _, src := range sources {
		src.Close()
	}
	if err != nil {
		return fmt.Errorf("rtc: close: %w", err)
	}
	return nil
}
