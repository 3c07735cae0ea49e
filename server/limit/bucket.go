package limit

import (
	"sync"
	"time"

	"github.com/duet-rtc/duet/internal/clock"
)

// Buckets is a token bucket per key: each key may take Burst tokens at once and Rate a
// second after that. It bounds work that costs the server whatever its outcome, such as the
// password hashes of an unauthenticated registration.
type Buckets struct {
	rate  float64 // tokens a second
	burst float64
	clk   clock.Clock

	mu   sync.Mutex
	keys map[string]*bucket
}

type bucket struct {
	tokens float64
	at     time.Time
}

// NewBuckets returns buckets of burst tokens refilled at rate a second.
func NewBuckets(rate float64, burst int, clk clock.Clock) *Buckets {
	if clk == nil {
		clk = clock.Real{}
	}
	return &Buckets{rate: rate, burst: float64(burst), clk: clk, keys: make(map[string]*bucket)}
}

// Burst is the most tokens one Take may ask for.
func (b *Buckets) Burst() int { return int(b.burst) }

// Take takes n tokens of key's bucket and returns 0, or leaves them and returns how long
// until there are n. n above Burst never fits: Take returns a negative duration.
func (b *Buckets) Take(key string, n int) time.Duration {
	if float64(n) > b.burst {
		return -1
	}
	now := b.clk.Now()
	b.mu.Lock()
	defer b.mu.Unlock()
	k, ok := b.keys[key]
	if !ok {
		if len(b.keys) >= maxBuckets {
			b.pruneLocked(now)
		}
		k = &bucket{tokens: b.burst, at: now}
		b.keys[key] = k
	}
	k.tokens = min(b.burst, k.tokens+now.Sub(k.at).Seconds()*b.rate)
	k.at = now
	if k.tokens >= float64(n) {
		k.tokens -= float64(n)
		return 0
	}
	return time.Duration((float64(n) - k.tokens) / b.rate * float64(time.Second))
}

// maxBuckets bounds the keys tracked; full buckets are dropped first.
const maxBuckets = 100_000

func (b *Buckets) pruneLocked(now time.Time) {
	for key, k := range b.keys {
		if k.tokens+now.Sub(k.at).Seconds()*b.rate >= b.burst {
			delete(b.keys, key)
		}
	}
	for key := range b.keys {
		if len(b.keys) < maxBuckets {
			return
		}
		delete(b.keys, key)
	}
}
