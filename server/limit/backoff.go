package limit

import (
	"sync"
	"time"

	"github.com/duet-rtc/duet/internal/clock"
)

// BackoffConfig shapes a Backoff.
type BackoffConfig struct {
	// Free is how many attempts a key may make without waiting.
	Free int
	// Base is the wait after the first attempt past Free; each further attempt doubles it,
	// up to Max. Past Max the key waits Max between attempts: never locked out for good, so
	// that nobody can lock a victim's account for longer than Max by guessing its password.
	Base, Max time.Duration
	// Forget is how long a key must stay quiet before its history is dropped.
	Forget time.Duration
	// MaxKeys bounds the memory: when this many keys are tracked, quiet ones are dropped,
	// and if none is, the oldest.
	MaxKeys int
}

// Backoff throttles attempts per key (an account, a source address) with exponential
// backoff. An attempt counts as a failure from the moment it is allowed (so that parallel
// attempts cannot all slip through before the first one fails) until Succeeded takes it
// back. It is safe for concurrent use.
type Backoff struct {
	cfg BackoffConfig
	clk clock.Clock

	mu   sync.Mutex
	keys map[string]*backoffEntry
}

type backoffEntry struct {
	failures int       // attempts that did not succeed (or have not finished)
	next     time.Time // the next attempt may not come before this
	last     time.Time // the last attempt, for Forget
}

// NewBackoff returns a Backoff on clk.
func NewBackoff(cfg BackoffConfig, clk clock.Clock) *Backoff {
	if cfg.MaxKeys <= 0 {
		cfg.MaxKeys = 100_000
	}
	if clk == nil {
		clk = clock.Real{}
	}
	return &Backoff{cfg: cfg, clk: clk, keys: make(map[string]*backoffEntry)}
}

// Try asks for an attempt by key. It returns 0 when the attempt may go ahead, and counts it
// as a failure; otherwise how long key must wait, and the refused attempt counts for
// nothing (it cost the server nothing, and must not prolong a victim's wait).
func (b *Backoff) Try(key string) time.Duration {
	now := b.clk.Now()
	b.mu.Lock()
	defer b.mu.Unlock()
	e := b.entryLocked(key, now)
	if wait := e.next.Sub(now); wait > 0 {
		return wait
	}
	e.failures++
	e.last = now
	e.next = now.Add(b.delay(e.failures))
	return 0
}

// Succeeded takes back an attempt that Try allowed and that did not fail. reset forgets
// the key's history altogether (the right password for an account); otherwise only this
// attempt is taken back (a source address that also guesses cannot clear its record by
// logging in to an account of its own now and then).
func (b *Backoff) Succeeded(key string, reset bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	e, ok := b.keys[key]
	if !ok {
		return
	}
	if reset || e.failures <= 1 {
		delete(b.keys, key)
		return
	}
	e.failures--
	e.next = e.last.Add(b.delay(e.failures))
}

// Failures returns how many failed attempts key has on record.
func (b *Backoff) Failures(key string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	if e, ok := b.keys[key]; ok {
		return e.failures
	}
	return 0
}

// delay is the wait after the nth failure: none for the first Free-1, then Base after the
// Free-th, doubling.
func (b *Backoff) delay(n int) time.Duration {
	if n < b.cfg.Free {
		return 0
	}
	d := b.cfg.Base
	for i := b.cfg.Free; i < n && d < b.cfg.Max; i++ {
		d *= 2
	}
	return min(d, b.cfg.Max)
}

// entryLocked returns key's entry, fresh if it was quiet for Forget, making room if needed.
func (b *Backoff) entryLocked(key string, now time.Time) *backoffEntry {
	e, ok := b.keys[key]
	if ok && now.Sub(e.last) < b.cfg.Forget {
		return e
	}
	if !ok && len(b.keys) >= b.cfg.MaxKeys {
		b.pruneLocked(now)
	}
	e = &backoffEntry{}
	b.keys[key] = e
	return e
}

// pruneLocked drops the keys quiet for Forget, or else the one with the oldest attempt.
func (b *Backoff) pruneLocked(now time.Time) {
	var oldest string
	var oldestAt time.Time
	for k, e := range b.keys {
		if now.Sub(e.last) >= b.cfg.Forget {
			delete(b.keys, k)
		} else if oldest == "" || e.last.Before(oldestAt) {
			oldest, oldestAt = k, e.last
		}
	}
	if len(b.keys) >= b.cfg.MaxKeys {
		delete(b.keys, oldest)
	}
}
