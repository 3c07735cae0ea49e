package duet

import (
	"context"
	"time"

	"github.com/duet-rtc/duet/internal/relayleg"
	"github.com/duet-rtc/duet/internal/rtc"
	"github.com/duet-rtc/duet/protocol"
)

// Recorded calls go through the server's media relay: instead of one peer connection per
// remote device, each party's device has one peer connection to the server (a relay leg),
// which forwards the media to the other party and records it; internal/relayleg negotiates
// it. Pre-connect holds as for direct calls: the leg connects while the call rings and
// carries media only once the call is accepted.
//
// The relay leg lives in CallSession.peers like a direct leg, so accepting, sending,
// pausing and ending need nothing special. The callee keys it by the caller's device, as a
// direct leg would be; the caller, who does not know the answering device yet, keys it by
// relayKey until the call is accepted (relayAccepted).

// relayKey is the caller's relay leg's key in CallSession.peers before accept. Device ids
// cannot contain '#', so it never collides with one.
const relayKey = "#relay"

// startRelay creates the caller's relay leg right after the invite: it pre-connects to the
// server while the callee's devices ring.
func (m *CallManager) startRelay(s *CallSession) {
	if _, err := m.newRelayPeer(s, relayKey); err != nil {
		m.log.Error("cannot set up the relay leg", "call", s.callID, "err", err)
	}
}

// newRelayPeer creates a relay leg stored under key, offers it to the server and applies
// the answer, in the background (the offer is a request, and the caller of newPeer may be
// the connection's reader, which delivers the reply).
func (m *CallManager) newRelayPeer(s *CallSession, key string) (*rtc.Peer, error) {
	ice := m.c.opts.ICE
	cfg := rtc.Config{
		ICEServers: s.iceServers, LoopbackOnly: ice.LoopbackOnly, IPFilter: ice.IPFilter, RelayOnly: ice.RelayOnly,
		Audio: true, Video: s.callType == CallTypeVideo, Logger: m.log,
	}
	var peer *rtc.Peer
	leg := relayleg.New(s.callID, signaller{m.c}, m.log)
	p, err := rtc.NewPeer(cfg, rtc.Events{
		OnLocalCandidate: leg.LocalCandidate,
		OnConnected: func(protocol.ConnectType) {
			if k := s.keyOf(&peer); k != "" {
				m.peerConnected(s, k, protocol.ConnectRelay)
			}
		},
		OnFailed: func(err error) {
			if k := s.keyOf(&peer); k != "" {
				m.peerFailed(s, k, err)
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
		p.Close()
		return nil, &Error{Code: protocol.CodeCallInvalidID, Message: "call has ended"}
	}
	peer = p // under the lock: keyOf reads it there
	if key == relayKey && s.status == CallStatusAccepted && s.remoteDevice != "" {
		key = s.remoteDevice // accepted before the leg existed: no rekeying will come
	}
	old := s.peers[key]
	s.peers[key] = p
	s.mu.Unlock()
	if old != nil && old != p {
		go old.Close()
	}
	if audio, video := m.remoteSinks(s); audio != nil || video != nil {
		p.SetSinks(audio, video)
	}
	go func() {
		svid, err := leg.Negotiate(p)
		if err != nil {
			m.log.Warn("relay leg: negotiation failed", "call", s.callID, "err", err)
			m.relayFailed(s, p, err)
			return
		}
		s.mu.Lock()
		s.serverVideoID = svid
		s.mu.Unlock()
	}()
	return p, nil
}

// relayFailed fails the leg p unless it is already gone (replaced, or the call ended).
func (m *CallManager) relayFailed(s *CallSession, p *rtc.Peer, err error) {
	if k := s.keyOf(&p); k != "" {
		m.peerFailed(s, k, err)
	}
}

// keyOf returns the key *p is stored under in s.peers ("" when it is gone: replaced, or
// the call ended). A leg's events ask it before they act, so that a replaced leg never
// fails or connects the one that replaced it. It reads *p under the lock that registered
// the peer, since a peer's events may run before its creator has stored it.
func (s *CallSession) keyOf(p **rtc.Peer) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if *p == nil {
		return ""
	}
	for k, q := range s.peers {
		if q == *p {
			return k
		}
	}
	return ""
}

// onRelayMedia handles a call.media message from the server: a candidate for the relay leg.
func (m *CallManager) onRelayMedia(s *CallSession, env *protocol.Envelope) {
	var cm protocol.CallMedia
	if env.DecodeDataLoose(&cm) != nil || cm.Candidate == nil {
		return
	}
	s.mu.Lock()
	var p *rtc.Peer
	for _, q := range s.peers { // a recorded call has one leg: the relay's
		p = q
	}
	s.mu.Unlock()
	if p == nil {
		return
	}
	if err := p.AddCandidate(*cm.Candidate); err != nil {
		m.log.Debug("bad relay candidate", "call", s.callID, "err", err)
	}
}

// relayAccepted moves the caller's relay leg to the answering device's key, so that the
// accept keeps it and media starts on it.
func (m *CallManager) relayAccepted(s *CallSession, device string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.peers[relayKey]
	if p == nil || device == "" {
		return
	}
	delete(s.peers, relayKey)
	s.peers[device] = p
	if s.connectedPeer[relayKey] {
		delete(s.connectedPeer, relayKey)
		s.connectedPeer[device] = true
	}
}

// signaller lets a relay leg send call.media on the client's live connection.
type signaller struct{ c *Client }

func (g signaller) Request(ctx context.Context, typ string, body, out any) error {
	return g.c.request(ctx, typ, body, out)
}

func (g signaller) Send(ctx context.Context, typ string, body any) error {
	return g.c.send(ctx, typ, body)
}

// restartRelay offers a recorded call's relay leg again after the server restarted (its
// relay lost every leg) or the call's relay moved to another node of a cluster (call.relay).
// The session stays as it is: the new leg takes the old one's key, and media starts again
// on it once it connects, without CallDidConnect a second time.
func (m *CallManager) restartRelay(s *CallSession, why string) {
	s.mu.Lock()
	if s.ended {
		s.mu.Unlock()
		return
	}
	key := s.remoteDevice // the callee's leg, and the caller's once accepted
	if s.isCaller && s.status != CallStatusAccepted {
		key = relayKey
	}
	s.sending = false
	delete(s.connectedPeer, key)
	s.mu.Unlock()
	s.stopQuality()
	m.log.Info(why+": offering the relay leg again", "call", s.callID)
	if _, err := m.newRelayPeer(s, key); err != nil {
		m.log.Error("cannot set up the relay leg again", "call", s.callID, "err", err)
	}
}
