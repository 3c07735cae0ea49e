package rtc

import (
	"errors"
	"fmt"
	"strings"

	"github.com/duet-rtc/duet/protocol"
	"github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"
)

// maxPendingCandidates bounds the candidates held while waiting for the remote description:
// a real peer trickles a handful; a hostile one must not grow memory.
const maxPendingCandidates = 64

// AddCandidate adds a remote candidate trickled by the other side. Candidates that arrive
// before the remote description (pion's answerer can send them before its answer lands) are
// checked, queued, and applied once the description is set. An empty candidate marks the
// end of the remote candidates.
func (p *Peer) AddCandidate(c protocol.ICECandidate) error {
	if len(c.Candidate) > protocol.MaxCandidate {
		return fmt.Errorf("rtc: candidate longer than %d bytes", protocol.MaxCandidate)
	}
	// Parse here, as pion will, so that a bad candidate is refused now rather than dropped
	// silently when the queue is flushed.
	if v := strings.TrimPrefix(c.Candidate, "candidate:"); v != "" {
		if _, err := ice.UnmarshalCandidate(v); err != nil {
			return fmt.Errorf("rtc: bad candidate: %w", err)
		}
	}
	init := webrtc.ICECandidateInit{Candidate: c.Candidate, SDPMid: c.SDPMid, SDPMLineIndex: c.SDPMLineIndex}

	p.sigMu.Lock()
	defer p.sigMu.Unlock()
	if p.isClosed() {
		return errClosed
	}
	if !p.remoteSet {
		if len(p.pending) >= maxPendingCandidates {
			return fmt.Errorf("rtc: more than %d candidates before the remote description", maxPendingCandidates)
		}
		p.pending = append(p.pending, init)
		return nil
	}
	return guard("add candidate", func() error { return p.pc.AddICECandidate(init) })
}

// flushCandidates applies the queued candidates; the caller holds sigMu and has just set the
// remote description. They were checked when queued, so a failure here is only logged.
func (p *Peer) flushCandidates() {
	for _, c := range p.pending {
		if err := guard("add candidate", func() error { return p.pc.AddICECandidate(c) }); err != nil {
			p.log.Debug("queued candidate refused", "err", err)
		}
	}
	p.pending = nil
}

// onLocalCandidate trickles a gathered candidate to the application. pion ends gathering
// with a nil candidate, which is not passed on.
func (p *Peer) onLocalCandidate(c *webrtc.ICECandidate) {
	if c == nil || p.events.OnLocalCandidate == nil {
		return
	}
	j := c.ToJSON()
	pc := protocol.ICECandidate{Candidate: j.Candidate, SDPMid: j.SDPMid, SDPMLineIndex: j.SDPMLineIndex}
	p.ev.emit(func() { p.events.OnLocalCandidate(pc) })
}

// guard runs a pion call that parses remote input and turns a panic into an error: a parser
// bug must cost this call, not the application.
func guard(what string, f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("rtc: %s: internal error: %v", what, r)
		}
	}()
	if err := f(); err != nil {
		return fmt.Errorf("rtc: %s: %w", what, err)
	}
	return nil
}

var errClosed = errors.New("rtc: peer closed")
