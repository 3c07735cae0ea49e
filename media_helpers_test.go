package duet_test

import (
	"context"
	"image"
	"image/png"
	"math"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/duet-rtc/duet"
	"github.com/duet-rtc/duet/media"
	"github.com/pion/logging"
	"github.com/pion/rtp"
	"github.com/pion/transport/v5/vnet"
)

// netEvent is one CallNetworkDidChange.
type netEvent struct {
	status duet.NetworkStatus
	at     time.Time
}

// netRecorder records CallNetworkDidChange beside the harness's recorder.
type netRecorder struct {
	duet.CallManagerDelegateBase
	ch chan netEvent
}

func newNetRecorder(c *duet.Client) *netRecorder {
	r := &netRecorder{ch: make(chan netEvent, 64)}
	c.CallManager().AddDelegate(r, nil)
	return r
}

func (r *netRecorder) CallNetworkDidChange(_ *duet.CallSession, st duet.NetworkStatus) {
	r.ch <- netEvent{st, time.Now()}
}

// next waits up to limit for the next status change.
func (r *netRecorder) next(t *testing.T, limit time.Duration) netEvent {
	t.Helper()
	select {
	case e := <-r.ch:
		return e
	case <-time.After(limit):
		t.Fatalf("no CallNetworkDidChange within %v", limit)
		return netEvent{}
	}
}

// none fails if a status change is pending.
func (r *netRecorder) none(t *testing.T, what string) {
	t.Helper()
	select {
	case e := <-r.ch:
		t.Fatalf("%s: unexpected CallNetworkDidChange(%v)", what, e.status)
	default:
	}
}

// packetSink keeps the payloads of the RTP packets written to it.
type packetSink struct {
	mu       sync.Mutex
	payloads [][]byte
	closed   bool
}

func (s *packetSink) WriteRTP(p *rtp.Packet) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed && len(p.Payload) > 0 {
		s.payloads = append(s.payloads, append([]byte(nil), p.Payload...))
	}
	return nil
}

func (s *packetSink) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return nil
}

func (s *packetSink) take() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.payloads
	s.payloads = nil
	return out
}

// goertzel returns the power of freq in samples at rate.
func goertzel(samples []float32, freq float64, rate int) float64 {
	k := 2 * math.Cos(2*math.Pi*freq/float64(rate))
	var s1, s2 float64
	for _, x := range samples {
		s0 := float64(x) + k*s1 - s2
		s2, s1 = s1, s0
	}
	return s1*s1 + s2*s2 - k*s1*s2
}

// sinePCM returns n 16-bit little-endian samples of a freq Hz sine at rate from sample off.
func sinePCM(freq float64, rate, off, n int) []byte {
	b := make([]byte, 2*n)
	for i := 0; i < n; i++ {
		v := int16(8000 * math.Sin(2*math.Pi*freq*float64(off+i)/float64(rate)))
		b[2*i], b[2*i+1] = byte(v), byte(uint16(v)>>8)
	}
	return b
}

// lossyNet is a pion vnet both clients' media runs over, with switchable loss and blackout.
type lossyNet struct {
	router   *vnet.Router
	a, b     *vnet.Net
	mu       sync.Mutex
	lossPct  int
	blackout bool
	n        uint64
}

func newLossyNet(t *testing.T, delay time.Duration) *lossyNet {
	t.Helper()
	r, err := vnet.NewRouter(&vnet.RouterConfig{
		CIDR: "10.78.0.0/24", MinDelay: delay, QueueSize: 4096, LoggerFactory: quietLoggers(),
	})
	if err != nil {
		t.Fatal(err)
	}
	n := &lossyNet{router: r}
	r.AddChunkFilter(n.pass)
	for _, p := range []**vnet.Net{&n.a, &n.b} {
		if *p, err = vnet.NewNet(&vnet.NetConfig{}); err != nil {
			t.Fatal(err)
		}
		if err := r.AddNet(*p); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Start(); err != nil {
		t.Fatal(err)
	}
	return n
}

// pass drops every packet in a blackout and lossPct of them otherwise, spread evenly (a
// fixed pattern rather than random draws keeps the loss rate exact in every period).
func (n *lossyNet) pass(vnet.Chunk) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.blackout {
		return false
	}
	n.n++
	return int(n.n*7919%100) >= n.lossPct
}

func (n *lossyNet) set(lossPct int, blackout bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.lossPct, n.blackout = lossPct, blackout
}

func (n *lossyNet) stop() { _ = n.router.Stop() }

// quietLoggers silences vnet.
func quietLoggers() logging.LoggerFactory {
	f := logging.NewDefaultLoggerFactory()
	f.DefaultLogLevel = logging.LogLevelDisabled
	return f
}

// readPNG decodes a PNG file.
func readPNG(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return img
}

// ctxFor returns a context that ends after d or with the test.
func ctxFor(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

var _ media.Sink = (*packetSink)(nil)

// closeCounter counts the sources it opened and how many of them were closed.
type closeCounter struct {
	opened, closed atomic.Int32
}

// track wraps a source so that its Close is counted.
func (c *closeCounter) track(src media.Source, err error) (media.Source, error) {
	if err != nil {
		return nil, err
	}
	c.opened.Add(1)
	return &countedSource{Source: src, c: c}, nil
}

type countedSource struct {
	media.Source
	c    *closeCounter
	once sync.Once
}

func (s *countedSource) Close() error {
	s.once.Do(func() { s.c.closed.Add(1) })
	return s.Source.Close()
}
