// Package gateway connects recorded calls to the media relay: it serves the call.media
// messages of devices (an offer answered by the relay, candidates both ways), opens one
// relay call and one recording per recorded call, names the call's recordings with a
// serverVideoId, and closes both when the call flow reports the call's end.
//
// Only a party of a live call that was invited with record: true may use call.media; the
// call flow decides who that is (Calls). The gateway never relays call.media to the other
// party: each device talks to the relay alone.
package gateway

import (
	"log/slog"
	"sync"

	"github.com/duet-rtc/duet/protocol"
	"github.com/duet-rtc/duet/server/callflow"
	"github.com/duet-rtc/duet/server/media/relay"
	"github.com/duet-rtc/duet/server/recording"
	"github.com/duet-rtc/duet/server/route"
)

// Calls is what the gateway asks the call flow (callflow.Engine implements it).
type Calls interface {
	Party(dev route.Device, callID string) (callflow.Party, bool)
	Answered(app, callID string) string
}

// Config wires a Gateway.
type Config struct {
	Relay      *relay.Relay
	Recordings *recording.Service
	Calls      Calls
	Sender     route.Sender
	Logger     *slog.Logger
}

// Gateway is safe for concurrent use.
type Gateway struct {
	cfg Config
	log *slog.Logger

	mu     sync.Mutex
	calls  map[callKey]*call
	ended  map[callKey]struct{} // recently ended calls, which must not be opened again
	order  []callKey            // ended, oldest first, to bound it
	closed bool
	wg     sync.WaitGroup // calls being finished
}

type callKey struct{ app, id string }

// call is the media state of one recorded call.
type call struct {
	serverVideoID string
	rc            *relay.Call
	rec           *recording.Call
}

// maxEnded bounds the memory of ended calls.
const maxEnded = 4096

var errInvalidID = protocol.NewError(protocol.CodeCallInvalidID, "no recorded call for this device")

// New makes a gateway.
func New(cfg Config) *Gateway {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Gateway{cfg: cfg, log: log, calls: map[callKey]*call{}, ended: map[callKey]struct{}{}}
}

// HandleMessage handles one call.media message from dev and returns its reply (nil for a
// candidate without an id).
func (g *Gateway) HandleMessage(dev route.Device, env *protocol.Envelope) *protocol.Envelope {
	var m protocol.CallMedia
	if err := env.DecodeData(&m); err != nil {
		return protocol.NewErrorReply(env.ID, err)
	}
	p, ok := g.cfg.Calls.Party(dev, m.CallID)
	if !ok || !p.Record {
		return protocol.NewErrorReply(env.ID, errInvalidID)
	}
	side := relay.Callee
	if p.IsCaller {
		side = relay.Caller
	}
	c, err := g.open(dev, p)
	if err != nil {
		return protocol.NewErrorReply(env.ID, err)
	}
	if m.Candidate != nil {
		if err := c.rc.AddCandidate(side, dev.ID, *m.Candidate); err != nil {
			return protocol.NewErrorReply(env.ID, protocol.NewError(protocol.CodeBadMessage, "candidate refused"))
		}
		if env.ID == "" {
			return nil
		}
		return protocol.NewReply(env.ID, nil)
	}
	callID := m.CallID
	answer, err := c.rc.Offer(side, dev.ID, *m.Description, relay.LegEvents{
		OnCandidate: func(cand protocol.ICECandidate) {
			g.cfg.Sender.Send(dev, protocol.NewMessage(protocol.TypeCallMedia, "", &protocol.CallMedia{CallID: callID, Candidate: &cand}))
		},
	})
	if err != nil {
		g.log.Debug("gateway: offer refused", "call", callID, "device", dev.ID, "err", err)
		return protocol.NewErrorReply(env.ID, protocol.NewError(protocol.CodeBadMessage, "offer refused"))
	}
	return protocol.NewReply(env.ID, &protocol.CallMedia{CallID: callID, Description: &answer, ServerVideoID: c.serverVideoID})
}

// open returns the media state of p's call, creating it on the first offer.
func (g *Gateway) open(dev route.Device, p callflow.Party) (*call, error) {
	key := callKey{p.App, p.CallID}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return nil, protocol.NewError(protocol.CodeServerShutdown, "the server is shutting down")
	}
	if c := g.calls[key]; c != nil {
		return c, nil
	}
	if _, gone := g.ended[key]; gone {
		return nil, errInvalidID
	}
	video := p.Type == protocol.CallVideo
	svid := recording.ServerVideoIDOf(p.App, p.CallID)
	rec, err := g.cfg.Recordings.StartCall(recording.CallInfo{
		App: p.App, CallID: p.CallID, ServerVideoID: svid, Parties: [2]string{p.Caller, p.Callee},
		Video: video, Merge: p.MergeStream,
	})
	if err != nil {
		g.log.Error("gateway: cannot record", "call", p.CallID, "err", err)
		return nil, protocol.NewError(protocol.CodeGeneral, "recording unavailable")
	}
	calls, app, id := g.cfg.Calls, p.App, p.CallID
	rc, _, err := g.cfg.Relay.Open(p.App+"/"+p.CallID, relay.CallConfig{
		Audio: true, Video: video, Tap: rec,
		Active: func() string { return calls.Answered(app, id) },
	})
	if err != nil {
		rec.Finish()
		return nil, protocol.NewError(protocol.CodeGeneral, "media relay unavailable")
	}
	c := &call{serverVideoID: svid, rc: rc, rec: rec}
	g.calls[key] = c
	return c, nil
}

// CallEnded closes the relay and finishes the recordings of a call that ended, in the
// background, and returns the call's serverVideoId ("" when no media went through the
// relay). It never blocks on media or disk.
func (g *Gateway) CallEnded(app, callID string) string {
	key := callKey{app, callID}
	g.mu.Lock()
	c := g.calls[key]
	delete(g.calls, key)
	if _, ok := g.ended[key]; !ok {
		g.ended[key] = struct{}{}
		g.order = append(g.order, key)
		if len(g.order) > maxEnded {
			delete(g.ended, g.order[0])
			g.order = g.order[1:]
		}
	}
	if c != nil {
		g.wg.Add(1)
	}
	g.mu.Unlock()
	if c == nil {
		return ""
	}
	go func() {
		defer g.wg.Done()
		c.rc.Close()
		c.rec.Finish()
	}()
	return c.serverVideoID
}

// Active returns the number of recorded calls in the relay.
func (g *Gateway) Active() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.calls)
}

// Close ends every call's media (their recordings are finished) and waits.
func (g *Gateway) Close() {
	g.mu.Lock()
	g.closed = true
	calls := g.calls
	g.calls = map[callKey]*call{}
	g.mu.Unlock()
	for _, c := range calls {
		g.wg.Add(1)
		go func() {
			defer g.wg.Done()
			c.rc.Close()
			c.rec.Finish()
		}()
	}
	g.wg.Wait()
}
