package rtc

import (
	"github.com/duet-rtc/duet/internal/pionlog"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/transport/v5/vnet"
)

// lossyNet is a virtual network (pion's vnet) for two peers with a switchable loss rate and
// blackout: no packet of the test touches a real interface.
type lossyNet struct {
	router   *vnet.Router
	a, b     *vnet.Net
	lossPct  atomic.Int32
	blackout atomic.Bool
	mu       sync.Mutex
	rng      *rand.Rand
}

func newLossyNet(t testing.TB, delay time.Duration) *lossyNet {
	t.Helper()
	r, err := vnet.NewRouter(&vnet.RouterConfig{
		CIDR: "10.77.0.0/24", MinDelay: delay, QueueSize: 4096,
		LoggerFactory: pionlog.Factory{Log: slog.New(slog.DiscardHandler)},
	})
	if err != nil {
		t.Fatal(err)
	}
	n := &lossyNet{router: r, rng: rand.New(rand.NewPCG(42, 7))}
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

// stop stops the router's goroutine.
func (n *lossyNet) stop() { _ = n.router.Stop() }

// pass decides the fate of one packet: dropped in a blackout, or with the loss rate.
func (n *lossyNet) pass(vnet.Chunk) bool {
	if n.blackout.Load() {
		return false
	}
	pct := n.lossPct.Load()
	if pct == 0 {
		return true
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.rng.Int32N(100) >= pct
}
