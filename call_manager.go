package duet

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"sync"
	"time"

	"github.com/duet-rtc/duet/internal/device"
	"github.com/duet-rtc/duet/internal/rtc"
	"github.com/duet-rtc/duet/media"
	"github.com/duet-rtc/duet/protocol"
	"github.com/pion/transport/v5"
)

// CallManager starts, answers and ends calls: IEMCallManager. Get it from
// Client.CallManager.
type CallManager struct {
	c   *Client
	log *slog.Logger

	mu        sync.Mutex
	delegates []callDelegate
	builder   CallBuilderDelegate
	options   CallOptions
	media     MediaOptions
	sessions  map[string]*CallSession
	early     map[string][]*protocol.Envelope // messages for calls not registered yet
	earlyIDs  []string
	watermark *watermark // nil: none
	boot      string     // the server run of the last welcome (protocol.Welcome.Boot)
	// pendingEnds are calls ended here whose end the server did not confirm (keepPendingEnd).
	pendingEnds map[string]EndReason

	// testNet replaces the network under every media connection (tests: a lossy vnet).
	testNet transport.Net
}

type callDelegate struct {
	d CallManagerDelegate
	q Queue
}

// maxEarly bounds the buffer of messages that arrive before StartCall's reply.
const maxEarly = 16

func newCallManager(c *Client) *CallManager {
	return &CallManager{
		c: c, log: c.log.With("part", "calls"), options: DefaultCallOptions(),
		sessions: map[string]*CallSession{}, early: map[string][]*protocol.Envelope{},
		pendingEnds: map[string]EndReason{},
	}
}

// AddDelegate registers d; its callbacks run on q (nil: the SDK's serial queue).
func (m *CallManager) AddDelegate(d CallManagerDelegate, q Queue) {
	if q == nil {
		q = m.c.queue
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.delegates = append(m.delegates, callDelegate{d, q})
}

// RemoveDelegate unregisters d.
func (m *CallManager) RemoveDelegate(d CallManagerDelegate) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, e := range m.delegates {
		if e.d == d {
			m.delegates = append(m.delegates[:i], m.delegates[i+1:]...)
			return
		}
	}
}

// SetBuilderDelegate sets the one builder delegate (CallRemoteOffline).
func (m *CallManager) SetBuilderDelegate(d CallBuilderDelegate) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.builder = d
}

// CallOptions returns the options applied to new calls. A call keeps the options it started
// (caller) or rang (callee) with; see CallSession.Options.
func (m *CallManager) CallOptions() CallOptions {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.options
}

// SetCallOptions validates and sets the options for new calls.
func (m *CallManager) SetCallOptions(o CallOptions) error {
	if err := o.Validate(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.options = o
	return nil
}

// SetMediaOptions sets the media sources and sinks used by new calls.
func (m *CallManager) SetMediaOptions(o MediaOptions) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.media = o
}

func (m *CallManager) mediaOptions() MediaOptions {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.media
}

// Session returns the live session with callID, or nil.
func (m *CallManager) Session(callID string) *CallSession {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.sessions[callID]
}

func (m *CallManager) notify(f func(CallManagerDelegate)) {
	m.mu.Lock()
	ds := append([]callDelegate(nil), m.delegates...)
	m.mu.Unlock()
	for _, e := range ds {
		d := e.d
		e.q.Dispatch(func() { f(d) })
	}
}

// StartCall calls remoteName: startCall:remoteName:ext:completion:. It returns once the
// server accepted the invite; the callee's devices are ringing then, and the delegates
// report what follows. A caller already in a call gets ErrorCallBusy; an offline callee
// ErrorCallRemoteOffline (unless IsSendPushIfOffline: then StartCall returns at once while
// the server pushes, and the call ends with EndReasonRemoteOffline if no push went out).
func (m *CallManager) StartCall(ctx context.Context, t CallType, remoteName, ext string, opts ...StartCallOption) (*CallSession, error) {
	var cfg startCallConfig
	for _, o := range opts {
		o(&cfg)
	}
	if m.busyFor(remoteName) {
		return nil, &Error{Code: protocol.CodeCallBusy, Message: "this device is already in a call"}
	}
	co := m.CallOptions()
	inv := protocol.CallInvite{
		To: remoteName, Type: t, Ext: ext, Record: cfg.record, MergeStream: cfg.merge,
		PushIfOffline: co.IsSendPushIfOffline, OfflineText: co.OfflineMessageText,
	}
	if err := inv.Check(); err != nil {
		return nil, err
	}
	var reply protocol.CallInvited
	if err := m.c.request(ctx, protocol.TypeCallInvite, inv, &reply); err != nil {
		return nil, err
	}
	if reply.Glare {
		if s := m.Session(reply.CallID); s != nil {
			return s, nil
		}
	}
	s := newCallSession(m, reply.CallID, m.c.CurrentUsername(), protocol.NormalizeUsername(remoteName), t, true, ext)
	s.opts = co // the options the invite was made with
	s.willRecord = cfg.record
	s.iceServers = reply.ICEServers
	m.register(s) //nolint:contextcheck // early messages are handled as the reader would, without StartCall's context
	if s.willRecord {
		m.startRelay(s) //nolint:contextcheck // recorded: one leg to the server's relay (call_relay.go), outliving StartCall
	}
	return s, nil
}

// AnswerIncomingCall accepts a ringing call: answerIncomingCall:. Media starts flowing at
// once, because the transport was set up while ringing.
func (m *CallManager) AnswerIncomingCall(ctx context.Context, callID string) error {
	s := m.Session(callID)
	if s == nil || s.isCaller {
		return &Error{Code: protocol.CodeCallInvalidID, Message: "no incoming call " + callID}
	}
	if err := m.c.request(ctx, protocol.TypeCallAnswer, protocol.CallRef{CallID: callID}, nil); err != nil {
		return err
	}
	m.accepted(s, s.remoteDevice) //nolint:contextcheck // the call's media and quality reports outlive the answer's context
	return nil
}

// EndCall ends, cancels or declines a call: endCall:reason:. Use EndReasonDecline to
// decline a ringing call and EndReasonHangup otherwise. Ending an ended call succeeds.
// The local delegates get CallDidEnd with the same reason.
func (m *CallManager) EndCall(ctx context.Context, callID string, reason EndReason) error {
	body := protocol.CallEnd{CallID: callID, Reason: reason}
	if err := body.Check(); err != nil {
		return err
	}
	err := m.c.request(ctx, protocol.TypeCallEnd, body, nil)
	if s := m.Session(callID); s != nil {
		if unconfirmed(err) {
			m.keepPendingEnd(callID, reason)
		}
		m.finish(s, reason, nil)
		return nil
	}
	return err
}

// unconfirmed reports whether a request failed without the server's answer: the
// connection was down or went away, or the wait ran out.
func unconfirmed(err error) bool {
	return ErrorCodeOf(err) == protocol.CodeNetworkUnavailable ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)
}

// maxPendingEnds bounds the ends kept for the next connection.
const maxPendingEnds = 8

// keepPendingEnd remembers an end the server did not confirm, so that the next connection
// resumes the call and ends it with the user's reason: otherwise the server, which may
// have restarted meanwhile, would only learn of it when the reconnect grace ran out, and
// record it Failed.
func (m *CallManager) keepPendingEnd(callID string, reason EndReason) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.pendingEnds) < maxPendingEnds {
		m.pendingEnds[callID] = reason
	}
}

// sendPendingEnds sends the ends kept while the server was out of reach; each is forgotten
// once the server answers it, whatever the answer.
func (m *CallManager) sendPendingEnds() {
	m.mu.Lock()
	ends := maps.Clone(m.pendingEnds)
	m.mu.Unlock()
	for id, reason := range ends {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := m.c.request(ctx, protocol.TypeCallEnd, protocol.CallEnd{CallID: id, Reason: reason}, nil)
		cancel()
		if unconfirmed(err) {
			return // the connection is gone again: the next one tries
		}
		m.mu.Lock()
		delete(m.pendingEnds, id)
		m.mu.Unlock()
	}
}

// busyFor reports whether this device is in a call that an invite to remoteName cannot
// merge with. A call from remoteName still ringing here is not one: the server answers it
// with the invite (glare, PROTOCOL.md rule 7), and StartCall returns that call.
func (m *CallManager) busyFor(remoteName string) bool {
	remote := protocol.NormalizeUsername(remoteName)
	m.mu.Lock()
	sessions := make([]*CallSession, 0, len(m.sessions))
	for _, s := range m.sessions {
		sessions = append(sessions, s)
	}
	m.mu.Unlock()
	for _, s := range sessions {
		s.mu.Lock()
		ringing := !s.isCaller && s.remoteName == remote && s.status != CallStatusAccepted && !s.ended
		s.mu.Unlock()
		if !ringing {
			return true
		}
	}
	return false
}

// register adds a session and replays messages that arrived before it existed.
func (m *CallManager) register(s *CallSession) {
	m.mu.Lock()
	m.sessions[s.callID] = s
	early := m.early[s.callID]
	delete(m.early, s.callID)
	m.mu.Unlock()
	for _, env := range early {
		m.handleMessage(env)
	}
}

// handleMessage handles one server message. It runs on the connection's reader goroutine,
// so it never blocks on the network or on delegates.
func (m *CallManager) handleMessage(env *protocol.Envelope) {
	switch env.Type {
	case protocol.TypeCallIncoming:
		var in protocol.CallIncoming
		if env.DecodeDataLoose(&in) == nil {
			m.onIncoming(in)
		}
		return
	case protocol.TypeError:
		m.log.Info("server message", "type", env.Type, "error", env.Error)
		return
	}
	var ref protocol.CallRef
	if env.DecodeDataLoose(&ref) != nil || ref.CallID == "" {
		m.log.Warn("unexpected message", "type", env.Type)
		return
	}
	s := m.Session(ref.CallID)
	if s == nil {
		m.keepEarly(ref.CallID, env)
		return
	}
	switch env.Type {
	case protocol.TypeCallRinging:
		var r protocol.CallRinging
		if env.DecodeDataLoose(&r) == nil {
			m.onRinging(s, r.Device)
		}
	case protocol.TypeCallSignal:
		var sig protocol.CallSignal
		// Check: exactly one of description and candidate, within their sizes.
		if env.DecodeDataLoose(&sig) == nil && sig.Check() == nil {
			m.onSignal(s, sig)
		}
	case protocol.TypeCallAccepted:
		var a protocol.CallAccepted
		if env.DecodeDataLoose(&a) == nil {
			dev := a.Device
			if !s.isCaller {
				dev = s.remoteDevice
			}
			m.accepted(s, dev)
		}
	case protocol.TypeCallEnded:
		var e protocol.CallEnded
		if env.DecodeDataLoose(&e) == nil {
			m.finish(s, e.Reason, nil)
		}
	case protocol.TypeCallMedia:
		m.onRelayMedia(s, env)
	case protocol.TypeCallStream:
		var st protocol.CallStream
		if env.DecodeDataLoose(&st) == nil && st.Status.Valid() {
			m.notify(func(d CallManagerDelegate) { d.CallStateDidChange(s, st.Status) })
		}
	case protocol.TypeCallOffline:
		m.mu.Lock()
		b := m.builder
		m.mu.Unlock()
		if b != nil {
			m.c.queue.Dispatch(func() { b.CallRemoteOffline(s.remoteName) })
		}
	case protocol.TypeCallPeer:
		var p protocol.CallPeer
		_ = env.DecodeDataLoose(&p)
		m.log.Info("peer connection state", "call", s.callID, "present", p.Present)
	case protocol.TypeCallRelay:
		if s.willRecord {
			// Off the reader: restarting waits for the call's quality loop to stop.
			go m.restartRelay(s, "the call's relay moved to another node")
		}
	}
}

func (m *CallManager) keepEarly(callID string, env *protocol.Envelope) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.early[callID]; !ok {
		m.earlyIDs = append(m.earlyIDs, callID)
		if len(m.earlyIDs) > maxEarly {
			delete(m.early, m.earlyIDs[0])
			m.earlyIDs = m.earlyIDs[1:]
		}
	}
	if len(m.early[callID]) < 64 {
		m.early[callID] = append(m.early[callID], env)
	}
}

// onIncoming: a call rings this device. The SDK pre-connects at once.
func (m *CallManager) onIncoming(in protocol.CallIncoming) {
	if s := m.Session(in.CallID); s != nil {
		m.reRung(s, in)
		return
	}
	s := newCallSession(m, in.CallID, m.c.CurrentUsername(), in.From, in.Type, false, in.Ext)
	s.willRecord = in.Record
	s.iceServers = in.ICEServers
	s.remoteDevice = in.FromDevice
	if _, err := m.newPeer(s, in.FromDevice); err != nil {
		m.log.Error("cannot set up media for incoming call", "call", in.CallID, "err", err)
	}
	m.register(s)
	m.notify(func(d CallManagerDelegate) { d.CallDidReceive(s) })
}

// reRung: the server rang this device again for a call it knows (the device reconnected
// while ringing); the old media leg is dead, so it starts a new one for the caller's offer.
func (m *CallManager) reRung(s *CallSession, in protocol.CallIncoming) {
	s.mu.Lock()
	old := s.peers[in.FromDevice]
	stale := !s.ended && s.status != CallStatusAccepted
	if stale {
		delete(s.peers, in.FromDevice)
		delete(s.connectedPeer, in.FromDevice)
	}
	s.mu.Unlock()
	if !stale {
		return
	}
	if old != nil {
		go old.Close()
	}
	if _, err := m.newPeer(s, in.FromDevice); err != nil {
		m.log.Error("cannot set up media for re-rung call", "call", in.CallID, "err", err)
	}
}

// onRinging: one callee device rings; the caller pre-connects a peer connection to it.
func (m *CallManager) onRinging(s *CallSession, device string) {
	if s.willRecord {
		return // the relay leg serves every callee device
	}
	s.mu.Lock()
	old := s.peers[device]
	done := s.ended || s.status == CallStatusAccepted
	if old != nil && !done {
		// The device was rung again (it reconnected): its old leg is dead, start afresh.
		delete(s.peers, device)
		delete(s.connectedPeer, device)
	}
	s.mu.Unlock()
	if done {
		return
	}
	if old != nil {
		go old.Close()
	}
	p, err := m.newPeer(s, device)
	if err != nil {
		m.log.Error("cannot set up media", "call", s.callID, "err", err)
		return
	}
	offer, err := p.CreateOffer()
	if err != nil {
		m.log.Error("cannot create offer", "call", s.callID, "err", err)
		return
	}
	m.sendSignal(s, protocol.CallSignal{CallID: s.callID, Device: device, Description: &offer})
}

func (m *CallManager) onSignal(s *CallSession, sig protocol.CallSignal) {
	s.mu.Lock()
	p := s.peers[sig.Device]
	if !s.isCaller {
		p = s.peers[s.remoteDevice]
	}
	s.mu.Unlock()
	if p == nil {
		return
	}
	if sig.Candidate != nil {
		if err := p.AddCandidate(*sig.Candidate); err != nil {
			m.log.Debug("bad remote candidate", "call", s.callID, "err", err)
		}
		return
	}
	answer, err := p.HandleDescription(*sig.Description)
	if err != nil {
		m.log.Warn("bad remote description", "call", s.callID, "err", err)
		return
	}
	if answer != nil {
		m.sendSignal(s, protocol.CallSignal{CallID: s.callID, Description: answer})
	}
}

func (m *CallManager) sendSignal(s *CallSession, sig protocol.CallSignal) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := m.c.send(ctx, protocol.TypeCallSignal, sig); err != nil {
		m.log.Debug("signal not sent", "call", s.callID, "err", err)
	}
}

// newPeer creates the peer connection of one call leg and registers it on the session.
func (m *CallManager) newPeer(s *CallSession, device string) (*rtc.Peer, error) {
	if s.willRecord {
		return m.newRelayPeer(s, device)
	}
	ice := m.c.opts.ICE
	cfg := rtc.Config{
		ICEServers: s.iceServers, LoopbackOnly: ice.LoopbackOnly, IPFilter: ice.IPFilter, RelayOnly: ice.RelayOnly,
		Audio: true, Video: s.callType == CallTypeVideo, Logger: m.log, Bandwidth: s.opts.bandwidth(),
	}
	if m.testNet != nil {
		cfg.Net, cfg.LoopbackOnly, cfg.IPFilter = m.testNet, false, nil
	}
	target := device
	if !s.isCaller {
		target = ""
	}
	// The events act only while this peer is the device's leg (keyOf).
	var p *rtc.Peer
	peer, err := rtc.NewPeer(cfg, rtc.Events{
		OnLocalCandidate: func(c protocol.ICECandidate) {
			m.sendSignal(s, protocol.CallSignal{CallID: s.callID, Device: target, Candidate: &c})
		},
		OnConnected: func(ct protocol.ConnectType) {
			if s.keyOf(&p) != "" {
				m.peerConnected(s, device, ct)
			}
		},
		OnFailed: func(err error) {
			if s.keyOf(&p) != "" {
				m.peerFailed(s, device, err)
			}
		},
		OnRemoteTrack: func(kind string, at time.Time) { s.markFirstRemote(kind, at) },
	})
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	if s.ended {
		s.mu.Unlock()
		peer.Close()
		return nil, &Error{Code: protocol.CodeCallInvalidID, Message: "call has ended"}
	}
	p = peer
	s.peers[device] = p
	s.mu.Unlock()
	// Sinks go on every leg from the start: the peer's first packets can arrive before this
	// side has processed call.accepted, and a first keyframe sent to no sink is lost.
	if audio, video := m.remoteSinks(s); audio != nil || video != nil {
		p.SetSinks(audio, video)
	}
	return p, nil
}

// remoteSinks asks MediaOptions.RemoteSinks once per session and remembers the answer.
func (m *CallManager) remoteSinks(s *CallSession) (audio, video media.Sink) {
	s.sinksOnce.Do(func() {
		if f := m.mediaOptions().RemoteSinks; f != nil {
			s.audioSink, s.videoSink = f(s)
		}
	})
	return s.audioSink, s.videoSink
}

func (s *CallSession) markFirstRemote(kind string, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.firstRemote[kind]; !ok {
		s.firstRemote[kind] = at
	}
}

// liveCallIDs lists the calls to resume after a reconnect.
func (m *CallManager) liveCallIDs() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	ids := make([]string, 0, len(m.sessions)+len(m.pendingEnds))
	for id := range m.sessions {
		if len(ids) < 8 {
			ids = append(ids, id)
		}
	}
	// A call ended here but not yet on the server is resumed, to be ended right after.
	for id := range m.pendingEnds {
		if len(ids) < 8 {
			ids = append(ids, id)
		}
	}
	return ids
}

// connected is called on each (re)connect of the device connection.
func (m *CallManager) connected(conn *device.Conn) {
	boot := conn.Welcome.Boot
	m.mu.Lock()
	restarted := m.boot != "" && boot != "" && boot != m.boot
	m.boot = boot
	var recorded []*CallSession
	if restarted {
		for _, s := range m.sessions {
			if s.willRecord {
				recorded = append(recorded, s)
			}
		}
	}
	m.mu.Unlock()
	for _, s := range recorded {
		m.restartRelay(s, "the server restarted")
	}
	m.sendPendingEnds()
}

// endAll ends every live call on the server, then locally.
func (m *CallManager) endAll(ctx context.Context, reason EndReason) {
	for _, id := range m.liveCallIDs() {
		_ = m.EndCall(ctx, id, reason)
	}
}

func (m *CallManager) close() { m.endAllLocally(EndReasonHangup) }
