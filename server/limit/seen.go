package limit

import (
	"sync"
	"time"

	"github.com/duet-rtc/duet/internal/clock"
)

// Seen remembers keys for a while: the (account, address) pairs that logged in, so that an
// attacker who keeps an account's backoff running does not also lock out its owner on the
// address the owner usually comes from. It is safe for concurrent use.
type Seen struct {
	ttl time.Duration
	max int
	clk clock.Clock

	mu   sync.Mutex
	keys map[string]time.Time // when each was last added
}

// NewSeen remembers up to max keys, each for ttl after it was last added.
func NewSeen(ttl time.Duration, max int, clk clock.Clock) *Seen {
	if clk == nil {
		clk = clock.Real{}
	}
	return &Seen{ttl: ttl, max: max, clk: clk, keys: make(map[string]time.Time)}
}

// Add remembers key from now.
func (s *Seen) Add(key string) {
	now := s.clk.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.keys[key]; !ok && len(s.keys) >= s.max {
		s.pruneLocked(now)
	}
	s.keys[key] = now
}

// Has reports whether key was added within the ttl.
func (s *Seen) Has(key string) bool {
	now := s.clk.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	at, ok := s.keys[key]
	return ok && now.Sub(at) < s.ttl
}

// pruneLocked drops the expired keys, or else the oldest.
func (s *Seen) pruneLocked(now time.Time) {
	var oldest string
	var oldestAt time.Time
	for k, at := range s.keys {
		if now.Sub(at) >= s.ttl {
			delete(s.keys, k)
		} else if oldest == "" || at.Before(oldestAt) {
			oldest, oldestAt = k, at
		}
	}
	if len(s.keys) >= s.max {
		delete(s.keys, oldest)
	}
}
