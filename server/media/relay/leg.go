package relay

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/dtls/v3"
	"github.com/pion/ice/v4"
	"github.com/pion/rtcp"
	"github.com/pion/srtp/v3"

	"github.com/duet-rtc/duet/protocol"
)

// leg is one device's connection to the relay: an ICE agent on the relay's shared UDP
// socket(s) (pion/ice), the relay's DTLS server over it (pion/dtls, dtls.go), and the
// relay's own answer to the device's offer (sdp.go). The relay's packet path (packet.go)
// then owns its SRTP and SRTCP both ways.
type leg struct {
	c      *Call
	side   Side
	device string
	ev     LegEvents
	agent  *ice.Agent
	ctx    context.Context // ends with the leg
	cancel context.CancelFunc
	wg     sync.WaitGroup // connect

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

	dmu   sync.Mutex
	dconn *dtls.Conn // once connect made it; closed by close

	sigMu     sync.Mutex
	remoteSet bool
	mid       string // the section local candidates are trickled for
	mline     uint16
	pending   []string
}

// path is where a leg's datagrams go: the relay socket and the device's address of the
// selected ICE candidate pair.
type path struct {
	sock *mediaSocket
	addr netip.AddrPort
}

// maxPendingCandidates bounds the candidates a leg queues before its offer is applied.
const maxPendingCandidates = 32

// dtlsTimeout bounds a leg's DTLS handshake once ICE is up.
const dtlsTimeout = 30 * time.Second

func newLeg(c *Call, side Side, device string, ev LegEvents) (*leg, error) {
	agent, err := ice.NewAgentWithOptions(c.r.agentOpts...)
	if err != nil {
		return nil, fmt.Errorf("relay: ice agent: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	l := &leg{c: c, side: side, device: device, ev: ev, agent: agent, ctx: ctx, cancel: cancel}
	for i := range l.kindOfPT {
		l.kindOfPT[i] = -1
	}
	err = errors.Join(
		agent.OnCandidate(l.localCandidate),
		agent.OnSelectedCandidatePairChange(l.route),
		agent.OnConnectionStateChange(func(s ice.ConnectionState) {
			if s == ice.ConnectionStateFailed || s == ice.ConnectionStateClosed {
				go l.close(true)
			}
		}))
	if err != nil {
		cancel()
		_ = agent.Close()
		return nil, fmt.Errorf("relay: ice agent: %w", err)
	}
	c.r.stats.legs.Add(1)
	return l, nil
}

// localCandidate trickles one of the relay's candidates to the device.
func (l *leg) localCandidate(cand ice.Candidate) {
	if cand == nil || l.ev.OnCandidate == nil || l.closed.Load() {
		return
	}
	l.sigMu.Lock()
	mid, mline := l.mid, l.mline
	l.sigMu.Unlock()
	l.ev.OnCandidate(protocol.ICECandidate{Candidate: "candidate:" + cand.Marshal(), SDPMid: &mid, SDPMLineIndex: &mline})
}

// answer answers the device's offer (sdp.go), notes the SSRCs and payload types both ways,
// and starts ICE and then DTLS (connect).
func (l *leg) answer(offer protocol.SessionDescription) (protocol.SessionDescription, error) {
	o, err := parseOffer(offer.SDP)
	if err != nil {
		return protocol.SessionDescription{}, err
	}
	ufrag, pwd, err := l.agent.GetLocalUserCredentials()
	if err != nil {
		return protocol.SessionDescription{}, fmt.Errorf("relay: answer: %w", err)
	}
	p := answerParams{ufrag: ufrag, pwd: pwd, fingerprint: l.c.r.cert.fingerprint, carries: l.c.carries}
	l.rmu.Lock()
	first := -1
	for i, m := range o.media {
		if !m.accepted {
			continue
		}
		if first < 0 {
			first = i
		}
		if !l.c.carries(m.kind) {
			continue
		}
		p.ssrc[m.kind] = l.c.r.nextSSRC()
		l.outSSRC[m.kind].Store(p.ssrc[m.kind])
		l.outPT[m.kind].Store(uint32(m.pt))
		l.kindOfPT[m.pt] = int8(m.kind)
		if m.ssrc != 0 {
			l.inSSRC[m.kind].Store(m.ssrc)
		}
	}
	l.rmu.Unlock()
	sdpText := buildAnswer(o, p, uint64(l.c.r.nextSSRC()))

	l.sigMu.Lock()
	l.mid, l.mline = o.media[first].mid, uint16(first)
	l.remoteSet = true
	cands := append(o.candidates, l.pending...)
	l.pending = nil
	l.sigMu.Unlock()
	for _, cand := range cands {
		_ = l.addRemote(cand)
	}
	if err := l.agent.GatherCandidates(); err != nil {
		return protocol.SessionDescription{}, fmt.Errorf("relay: gather: %w", err)
	}
	l.wg.Add(1)
	go l.connect(o.ufrag, o.pwd, o.fp)
	return protocol.SessionDescription{Type: "answer", SDP: sdpText}, nil
}

// connect waits for ICE, runs the DTLS handshake over it, keys the leg from it, and then
// reads the DTLS connection until the device closes it (close_notify) or the leg ends.
func (l *leg) connect(ufrag, pwd string, fp fingerprint) {
	defer l.wg.Done()
	conn, err := l.agent.Accept(l.ctx, ufrag, pwd)
	if err != nil {
		go l.close(true)
		return
	}
	dc, err := dtlsServer(conn, l.c.r.cert, fp, l.c.r.logs)
	if err != nil {
		go l.close(true)
		return
	}
	l.dmu.Lock()
	if l.closed.Load() {
		l.dmu.Unlock()
		_ = dc.Close()
		return
	}
	l.dconn = dc
	l.dmu.Unlock()
	ctx, cancel := context.WithTimeout(l.ctx, dtlsTimeout)
	err = dc.HandshakeContext(ctx)
	cancel()
	if err == nil {
		err = l.startSRTP(dc)
	}
	if err != nil {
		if !l.closed.Load() {
			l.c.r.log.Warn("relay leg without SRTP keys", "call", l.c.id, "device", l.device, "err", err)
		}
		go l.close(true)
		return
	}
	if l.ev.OnConnected != nil && !l.closed.Load() {
		l.ev.OnConnected()
	}
	buf := make([]byte, 1500)
	for {
		if _, err := dc.Read(buf); err != nil {
			if !l.closed.Load() {
				go l.close(true)
			}
			return
		}
	}
}

// addCandidate adds a candidate the device trickled, or keeps it until the offer is
// applied.
func (l *leg) addCandidate(cand protocol.ICECandidate) error {
	if len(cand.Candidate) > protocol.MaxCandidate {
		return errors.New("relay: candidate too long")
	}
	l.sigMu.Lock()
	if !l.remoteSet {
		defer l.sigMu.Unlock()
		if len(l.pending) >= maxPendingCandidates {
			return errors.New("relay: too many early candidates")
		}
		l.pending = append(l.pending, cand.Candidate)
		return nil
	}
	l.sigMu.Unlock()
	return l.addRemote(cand.Candidate)
}

// addRemote gives the agent a remote candidate ("candidate:…" or the bare attribute
// value); the empty candidate (end of candidates) is ignored.
func (l *leg) addRemote(raw string) error {
	raw = strings.TrimPrefix(raw, "candidate:")
	if raw == "" {
		return nil
	}
	cand, err := ice.UnmarshalCandidate(raw)
	if err != nil {
		return fmt.Errorf("relay: candidate: %w", err)
	}
	if err := l.agent.AddRemoteCandidate(cand); err != nil {
		return fmt.Errorf("relay: candidate: %w", err)
	}
	return nil
}

// startSRTP derives the leg's SRTP contexts from its finished handshake, routes the leg if
// ICE has not reported its pair yet, and sends the video held for it (held.go). What it
// could not hold, and a keyframe request the leg could not be sent, become keyframe
// requests now.
func (l *leg) startSRTP(dc *dtls.Conn) error {
	local, remote, err := srtpContexts(dc)
	if err != nil {
		return err
	}
	l.useKeys(local, remote)
	return nil
}

// useKeys installs the leg's SRTP contexts: see startSRTP.
func (l *leg) useKeys(local, remote *srtp.Context) {
	if l.path.Load() == nil {
		if pair, err := l.agent.GetSelectedCandidatePair(); err == nil && pair != nil {
			l.route(pair.Local, pair.Remote)
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
func (l *leg) route(localCand, remoteCand ice.Candidate) {
	if localCand == nil || remoteCand == nil || l.closed.Load() {
		return
	}
	remote, err := netip.ParseAddr(remoteCand.Address())
	if err != nil {
		return
	}
	local, _ := netip.ParseAddr(localCand.Address())
	p := &path{sock: l.c.r.router.sockFor(local), addr: netip.AddrPortFrom(remote.Unmap(), uint16(remoteCand.Port()))}
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
	l.cancel()
	l.dmu.Lock()
	if l.dconn != nil {
		_ = l.dconn.Close() // tells the device (close_notify)
	}
	l.dmu.Unlock()
	_ = l.agent.Close()
	l.wg.Wait()
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
