package loadgen

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/duet-rtc/duet"
	"github.com/duet-rtc/duet/media"
)

// errTimeout: an awaited event did not come within the step's timeout.
var errTimeout = errors.New("loadgen: timed out")

// pair is a caller and a callee, each a client with its own device connection.
type pair struct {
	caller, callee *duet.Client
	calleeName     string
	ev             *events // the callee's call events

	mu      sync.Mutex
	counter *media.FrameCounter // the caller's sink for the callee's media, this cycle
}

// events hands a client's call events to the cycle waiting for them.
type events struct {
	duet.CallManagerDelegateBase
	ring chan *duet.CallSession
	end  chan string // call ids
}

func (e *events) CallDidReceive(s *duet.CallSession) {
	select {
	case e.ring <- s:
	default: // rings nobody waits for: stale
	}
}
func (e *events) CallDidEnd(s *duet.CallSession, _ duet.EndReason, _ error) {
	select {
	case e.end <- s.CallID():
	default: // nobody waits: a cycle that failed before the end
	}
}

// newPair logs in pair i's two users, on the servers taken in turn.
func newPair(ctx context.Context, cfg Config, i int) (*pair, error) {
	p := &pair{calleeName: userName(cfg.Users, i, "b"), ev: &events{ring: make(chan *duet.CallSession, 4), end: make(chan string, 4)}}
	var err error
	srv := func(k int) string { return cfg.Servers[(2*i+k)%len(cfg.Servers)] }
	if p.caller, err = login(ctx, cfg, srv(0), userName(cfg.Users, i, "a")); err != nil {
		return nil, err
	}
	if p.callee, err = login(ctx, cfg, srv(1), p.calleeName); err != nil {
		p.caller.Close()
		return nil, err
	}
	p.callee.CallManager().AddDelegate(p.ev, nil)
	opts := cfg.Sources
	opts.RemoteSinks = func(*duet.CallSession) (media.Sink, media.Sink) {
		p.mu.Lock()
		defer p.mu.Unlock()
		if cfg.Media == MediaVideo {
			return nil, p.counter
		}
		return p.counter, nil
	}
	p.caller.CallManager().SetMediaOptions(opts)
	p.callee.CallManager().SetMediaOptions(cfg.Sources)
	return p, nil
}

// login registers user (unless it exists) and logs a new client in as it.
func login(ctx context.Context, cfg Config, server, user string) (*duet.Client, error) {
	c, err := duet.NewClient(duet.Options{AppKey: cfg.AppKey, ServerURL: server, ICE: duet.ICEOptions{LoopbackOnly: cfg.Loopback}})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.StepTimeout)
	defer cancel()
	if err := c.Register(ctx, user, cfg.Password); err != nil && duet.ErrorCodeOf(err) != duet.ErrorUserAlreadyExist {
		c.Close()
		return nil, err
	}
	if err := c.Login(ctx, user, cfg.Password); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

func (p *pair) close() {
	p.caller.Close()
	p.callee.Close()
}

// sample is one cycle's timings; zero where the cycle did not get that far.
type sample struct {
	ring, first, ended time.Duration
	step               string // where it failed
}

// cycle places one call from the caller to the callee, who answers at once; waits for the
// first frame when media flows; holds; and hangs up.
func (p *pair) cycle(ctx context.Context, cfg Config) (s sample, err error) {
	step := func() (context.Context, context.CancelFunc) { return context.WithTimeout(ctx, cfg.StepTimeout) }
	counter := counterFor(cfg.Media)
	p.mu.Lock()
	p.counter = counter
	p.mu.Unlock()
	typ := duet.CallTypeVoice
	if cfg.Media == MediaVideo {
		typ = duet.CallTypeVideo
	}
	var opts []duet.StartCallOption
	if cfg.Record {
		opts = append(opts, duet.WithRecord(false))
	}

	s.step = "invite"
	sctx, cancel := step()
	defer cancel()
	t0 := time.Now()
	out, err := p.caller.CallManager().StartCall(sctx, typ, p.calleeName, "", opts...)
	if err != nil {
		return s, err
	}
	// The caller ends the call whatever happens next, so that a failed cycle leaves the
	// pair free for the next one.
	ended := false
	defer func() {
		if !ended {
			ectx, cancel := step()
			_ = p.caller.CallManager().EndCall(ectx, out.CallID(), duet.EndReasonHangup)
			cancel()
		}
	}()
	s.step = "ring"
	in, err := p.waitRing(sctx, out.CallID())
	if err != nil {
		return s, err
	}
	s.ring = time.Since(t0)

	s.step = "answer"
	if cfg.AnswerAfter > 0 {
		select {
		case <-time.After(cfg.AnswerAfter):
		case <-ctx.Done():
			return s, ctx.Err()
		}
	}
	tAccept := time.Now()
	if err := p.callee.CallManager().AnswerIncomingCall(sctx, in.CallID()); err != nil {
		return s, err
	}
	if cfg.Media != MediaNone {
		s.step = "first-frame"
		st, err := counter.Wait(sctx, firstFrame(cfg.Media))
		if err != nil {
			return s, errTimeout
		}
		at := st.FirstKeyframeAt
		if cfg.Media == MediaAudio {
			at = st.FirstPacketAt
		}
		s.first = at.Sub(tAccept)
	}
	if cfg.Hold > 0 {
		select {
		case <-time.After(cfg.Hold):
		case <-ctx.Done():
			return s, ctx.Err()
		}
	}

	s.step = "end"
	ectx, cancel2 := step()
	defer cancel2()
	tEnd := time.Now()
	ended = true
	if err := p.caller.CallManager().EndCall(ectx, out.CallID(), duet.EndReasonHangup); err != nil {
		return s, err
	}
	s.step = "ended"
	if err := p.waitEnd(ectx, in.CallID()); err != nil {
		return s, err
	}
	s.ended = time.Since(tEnd)
	return s, nil
}

// firstFrame is the condition a FrameCounter meets at the first remote frame.
func firstFrame(m Media) func(media.CounterStats) bool {
	if m == MediaVideo {
		return func(st media.CounterStats) bool { return st.Keyframes > 0 }
	}
	return func(st media.CounterStats) bool { return st.Packets > 0 }
}

// waitRing waits for the callee to ring with call id, passing over stale calls.
func (p *pair) waitRing(ctx context.Context, id string) (*duet.CallSession, error) {
	for {
		select {
		case s := <-p.ev.ring:
			if s.CallID() == id {
				return s, nil
			}
		case <-ctx.Done():
			return nil, errTimeout
		}
	}
}

// waitEnd waits for the callee's end of call id.
func (p *pair) waitEnd(ctx context.Context, id string) error {
	for {
		select {
		case got := <-p.ev.end:
			if got == id {
				return nil
			}
		case <-ctx.Done():
			return errTimeout
		}
	}
}
