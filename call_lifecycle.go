package duet

import (
	"context"
	"errors"
	"time"

	"github.com/duet-rtc/duet/internal/rtc"
	"github.com/duet-rtc/duet/protocol"
)

// A session's lifecycle, in one place. A CallSession is created ringing (StartCall on the
// caller, call.incoming on the callee) with status Connecting, and then only these
// functions move it:
//
//	peerConnected   a leg's transport is up: the first one reports CallDidConnect (once)
//	accepted        the callee answered: other legs close; media starts once connected too
//	peerFailed      a leg failed: the call fails if it was its only leg (after a grace when
//	                the remote closed it on purpose: its hang-up is on the way)
//	finish          the call ended, for whatever reason: legs close, CallDidEnd (once)
//
// Each takes s.mu only to read and change the session's fields and calls the delegates and
// the network outside it.

// peerConnected: a leg's transport is up. The first one reports the call connected, to the
// server (call.connect, which the record keeps) and to the delegates, whether the call was
// accepted before (an answer on CallDidReceive, a glare) or after.
func (m *CallManager) peerConnected(s *CallSession, device string, ct protocol.ConnectType) {
	s.mu.Lock()
	s.connectedPeer[device] = true
	first := !s.didConnect && !s.ended
	if first {
		s.didConnect = true
		s.connectType = ct
		if s.status == CallStatusConnecting {
			s.status = CallStatusConnected
		}
	} else if device == s.remoteDevice {
		s.connectType = ct
	}
	s.mu.Unlock()
	if first {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_ = m.c.send(ctx, protocol.TypeCallConnect, protocol.CallConnect{CallID: s.callID, ConnectType: ct})
		cancel()
		m.notify(func(d CallManagerDelegate) { d.CallDidConnect(s) })
	}
	m.startSendingIfReady(s)
}

// peerFailed: a leg's transport failed. The call fails if it was the call's only leg.
func (m *CallManager) peerFailed(s *CallSession, device string, err error) {
	s.mu.Lock()
	p := s.peers[device]
	delete(s.peers, device)
	delete(s.connectedPeer, device)
	fatal := !s.ended && (device == s.remoteDevice || len(s.peers) == 0)
	s.mu.Unlock()
	if p != nil {
		go p.Close()
	}
	if fatal && errors.Is(err, rtc.ErrClosedByRemote) {
		// The other device closed its connection on purpose: it is hanging up, and the
		// server's call.ended with the reason is on its way (or it starts over with a new
		// offer). Fail only if neither comes: a hang-up must not end as Failed here because
		// the peer's DTLS close beat the server's message.
		t := m.c.clk.AfterFunc(remoteCloseGrace, func() { m.failIfStillDown(s, device, err) })
		s.mu.Lock()
		if s.ended {
			t.Stop()
		} else {
			s.graceTimers = append(s.graceTimers, t)
		}
		s.mu.Unlock()
		return
	}
	if fatal {
		m.fail(s, err)
	}
}

// remoteCloseGrace is how long a call whose remote closed its connection waits for the
// server's word before it fails.
const remoteCloseGrace = 5 * time.Second

// failIfStillDown fails the call unless it ended or device has a leg again.
func (m *CallManager) failIfStillDown(s *CallSession, device string, err error) {
	s.mu.Lock()
	down := !s.ended && s.peers[device] == nil && (device == s.remoteDevice || len(s.peers) == 0)
	s.mu.Unlock()
	if down {
		m.fail(s, err)
	}
}

// fail ends the call as Failed (4) on the server and here.
func (m *CallManager) fail(s *CallSession, err error) {
	m.log.Warn("media connection failed", "call", s.callID, "err", err)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	_ = m.c.request(ctx, protocol.TypeCallEnd, protocol.CallEnd{CallID: s.callID, Reason: EndReasonFailed}, nil)
	cancel()
	m.finish(s, EndReasonFailed, &Error{Code: protocol.CodeCallConnectFailed, Message: err.Error()})
}

// accepted: the call is accepted with the callee device `device`. Other legs close.
func (m *CallManager) accepted(s *CallSession, device string) {
	if s.willRecord {
		m.relayAccepted(s, device)
	}
	s.mu.Lock()
	if s.ended || s.status == CallStatusAccepted {
		s.mu.Unlock()
		return
	}
	s.status = CallStatusAccepted
	s.acceptedAt = time.Now()
	s.remoteDevice = device
	var losers []*rtc.Peer
	for dev, p := range s.peers {
		if dev != device {
			losers = append(losers, p)
			delete(s.peers, dev)
		}
	}
	s.mu.Unlock()
	for _, p := range losers {
		go p.Close()
	}
	m.startSendingIfReady(s)
	m.notify(func(d CallManagerDelegate) { d.CallDidAccept(s) })
}

// startSendingIfReady starts media once the call is both accepted and connected, so the
// first keyframe is never written into a transport that is not up yet.
func (m *CallManager) startSendingIfReady(s *CallSession) {
	s.mu.Lock()
	p := s.peers[s.remoteDevice]
	ready := s.status == CallStatusAccepted && !s.sending && !s.ended && p != nil && s.connectedPeer[s.remoteDevice]
	if ready {
		s.sending = true
	}
	paused := make([]StreamStatus, 0, 2)
	for st, on := range s.paused {
		if on {
			paused = append(paused, st)
		}
	}
	s.mu.Unlock()
	if !ready {
		return
	}
	audio, video := m.openSources(s, m.mediaOptions())
	if err := p.StartSending(audio, video); err != nil {
		m.log.Error("cannot start sending", "call", s.callID, "err", err)
	}
	for _, st := range paused {
		applyStream(p, st)
	}
	if s.opts.EnableReportQuality {
		m.startQuality(s, p)
	}
}

// finish ends a session locally: media closes, delegates get CallDidEnd once.
func (m *CallManager) finish(s *CallSession, reason EndReason, err error) {
	s.mu.Lock()
	if s.ended {
		s.mu.Unlock()
		return
	}
	s.ended = true
	s.status = CallStatusDisconnected
	peers := s.peers
	s.peers = map[string]*rtc.Peer{}
	close(s.endedCh)
	for _, t := range s.graceTimers {
		t.Stop()
	}
	s.graceTimers = nil
	s.mu.Unlock()
	m.mu.Lock()
	delete(m.sessions, s.callID)
	m.mu.Unlock()
	s.stopQuality()
	for _, p := range peers {
		p.Close() // closes the call's sources, custom inputs included
	}
	m.log.Info("call ended", "call", s.callID, "reason", reason)
	m.notify(func(d CallManagerDelegate) { d.CallDidEnd(s, reason, err) })
}

// endAllLocally ends every live call without telling the server.
func (m *CallManager) endAllLocally(reason EndReason) {
	m.mu.Lock()
	var ss []*CallSession
	for _, s := range m.sessions {
		ss = append(ss, s)
	}
	m.mu.Unlock()
	for _, s := range ss {
		m.finish(s, reason, nil)
	}
}
