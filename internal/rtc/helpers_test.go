package rtc

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/duet-rtc/duet/media"
	"github.com/duet-rtc/duet/protocol"
	"github.com/pion/transport/v5/test"
)

const (
	toneFile    = "../../testdata/media/tone-440.ogg"
	patternFile = "../../testdata/media/pattern-320x240.ivf"
	barsFile    = "../../testdata/media/bars-160x120.ivf"

	testTimeout = 15 * time.Second
)

// side is one Peer of a test call with what it reported and received.
type side struct {
	peer      *Peer
	connected chan protocol.ConnectType
	failed    chan error
	tracks    chan string
	audio     *media.FrameCounter
	video     *media.FrameCounter
	// other receives this side's candidates; nil holds them in held instead.
	other atomic.Pointer[Peer]
	held  chan protocol.ICECandidate
}

func newSide(t testing.TB, cfg Config) *side {
	t.Helper()
	s := &side{
		connected: make(chan protocol.ConnectType, 1),
		failed:    make(chan error, 1),
		tracks:    make(chan string, 2),
		held:      make(chan protocol.ICECandidate, 64),
		audio:     media.NewFrameCounter(media.CodecOpus, nil),
		video:     media.NewFrameCounter(media.CodecVP8, nil),
	}
	cfg.LoopbackOnly = cfg.Net == nil
	p, err := NewPeer(cfg, Events{
		OnLocalCandidate: func(c protocol.ICECandidate) {
			if o := s.other.Load(); o != nil {
				if err := o.AddCandidate(c); err != nil {
					t.Errorf("AddCandidate: %v", err)
				}
				return
			}
			s.held <- c
		},
		OnConnected:   func(ct protocol.ConnectType) { s.connected <- ct },
		OnFailed:      func(err error) { s.failed <- err },
		OnRemoteTrack: func(kind string, _ time.Time) { s.tracks <- kind },
	})
	if err != nil {
		t.Fatal(err)
	}
	s.peer = p
	p.SetSinks(s.audio, s.video)
	return s
}

// newPair makes a caller and a callee with trickle by direct calls, exchanges the offer
// and answer, and returns without waiting for the connection.
func newPair(t testing.TB, cfg Config) (caller, callee *side) {
	t.Helper()
	caller, callee = newSide(t, cfg), newSide(t, cfg)
	caller.other.Store(callee.peer)
	callee.other.Store(caller.peer)
	negotiate(t, caller, callee)
	return caller, callee
}

func negotiate(t testing.TB, caller, callee *side) {
	t.Helper()
	offer, err := caller.peer.CreateOffer()
	if err != nil {
		t.Fatal(err)
	}
	answer, err := callee.peer.HandleDescription(offer)
	if err != nil || answer == nil {
		t.Fatalf("answer %v: %v", answer, err)
	}
	if none, err := caller.peer.HandleDescription(*answer); err != nil || none != nil {
		t.Fatalf("applying the answer: %v %v", none, err)
	}
}

// waitConnected waits for OnConnected on both sides and checks the connect type.
func waitConnected(t testing.TB, sides ...*side) {
	t.Helper()
	for _, s := range sides {
		select {
		case ct := <-s.connected:
			if ct != protocol.ConnectDirect {
				t.Fatalf("connect type %v, want direct", ct)
			}
		case err := <-s.failed:
			t.Fatalf("failed: %v", err)
		case <-time.After(testTimeout):
			t.Fatal("not connected")
		}
	}
}

// waitFor waits until cond holds for counter c.
func waitFor(t testing.TB, what string, c *media.FrameCounter, cond func(media.CounterStats) bool) media.CounterStats {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	s, err := c.Wait(ctx, cond)
	if err != nil {
		t.Fatalf("waiting for %s: %v (have %+v)", what, err, s)
	}
	return s
}

func closeSides(t testing.TB, sides ...*side) {
	t.Helper()
	for _, s := range sides {
		if err := s.peer.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}
}

// guardTest follows pion's habits: the test panics with every goroutine's stack if it
// deadlocks, and fails if any goroutine outlives it (after a bounded wait, since pion winds
// some down after Close).
func guardTest(t *testing.T) func() {
	t.Helper()
	timeout := test.TimeOut(2 * testTimeout)
	report := test.CheckRoutines(t)
	return func() {
		t.Helper()
		timeout.Stop()
		report()
	}
}

func openSource(t testing.TB, open func(string) (media.Source, error), path string) media.Source {
	t.Helper()
	s, err := open(path)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// countingSource counts Restart calls: each is a keyframe the pump was asked for.
type countingSource struct {
	media.Source
	restarts atomic.Int32
}

func (c *countingSource) Restart() error {
	c.restarts.Add(1)
	return c.Source.Restart()
}
