// Package relayleg negotiates the Go SDK's relay legs: for a recorded call each party's
// device has one peer connection to the server's media relay instead of one to the other
// party. The device offers with a call.media request; the reply carries the relay's answer
// and the call's serverVideoId; candidates trickle as call.media messages, the device's own
// only once the offer is out (the relay has no leg to add them to before).
package relayleg

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/duet-rtc/duet/internal/rtc"
	"github.com/duet-rtc/duet/protocol"
)

// Signaller sends call.media on the device connection.
type Signaller interface {
	Request(ctx context.Context, typ string, body, out any) error
	Send(ctx context.Context, typ string, body any) error
}

// Leg is the negotiation of one relay leg of call CallID.
type Leg struct {
	callID string
	sig    Signaller
	log    *slog.Logger

	mu      sync.Mutex
	offered bool
	early   []protocol.ICECandidate // local candidates gathered before the offer went out
}

// New returns the negotiation of a leg of call callID.
func New(callID string, sig Signaller, log *slog.Logger) *Leg {
	return &Leg{callID: callID, sig: sig, log: log}
}

// LocalCandidate is the peer's OnLocalCandidate: it sends c, or keeps it until the offer
// is out.
func (l *Leg) LocalCandidate(c protocol.ICECandidate) {
	l.mu.Lock()
	if !l.offered {
		l.early = append(l.early, c)
		l.mu.Unlock()
		return
	}
	l.mu.Unlock()
	l.sendCandidate(c)
}

func (l *Leg) sendCandidate(c protocol.ICECandidate) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := l.sig.Send(ctx, protocol.TypeCallMedia, protocol.CallMedia{CallID: l.callID, Candidate: &c}); err != nil {
		l.log.Debug("call.media not sent", "call", l.callID, "err", err)
	}
}

// Negotiate offers p to the relay and applies its answer, then sends the candidates that
// waited. It returns the call's serverVideoId. It waits for the server's reply, so it must
// not run on the connection's reader.
func (l *Leg) Negotiate(p *rtc.Peer) (serverVideoID string, err error) {
	offer, err := p.CreateOffer()
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	var reply protocol.CallMedia
	if err := l.sig.Request(ctx, protocol.TypeCallMedia, protocol.CallMedia{CallID: l.callID, Description: &offer}, &reply); err != nil {
		return "", err
	}
	if reply.Description == nil {
		return "", &protocol.Error{Code: protocol.CodeServerUnknown, Message: "the relay sent no answer"}
	}
	l.mu.Lock()
	l.offered = true
	pending := l.early
	l.early = nil
	l.mu.Unlock()
	for _, c := range pending {
		l.sendCandidate(c)
	}
	if _, err := p.HandleDescription(*reply.Description); err != nil {
		return reply.ServerVideoID, err
	}
	return reply.ServerVideoID, nil
}
