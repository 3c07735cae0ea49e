// Package clock abstracts time so that timers (ring timeout, reconnect grace, heartbeat)
// can be driven instantly in tests. Real wraps package time; Fake moves only when told to.
package clock

import (
	"sort"
	"sync"
	"time"
)

// Clock tells the time and runs functions later.
type Clock interface {
	Now() time.Time
	// AfterFunc calls f in its own goroutine (Real) or inline during Advance (Fake) after d.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a pending AfterFunc.
type Timer interface {
	// Stop prevents the call; it reports whether the timer was still pending.
	Stop() bool
}

// Real is the wall clock.
type Real struct{}

// Now returns time.Now().
func (Real) Now() time.Time { return time.Now() }

// AfterFunc wraps time.AfterFunc.
func (Real) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }

// Fake is a manual clock for tests. Timers fire, in deadline order, on the goroutine that
// calls Advance or Set, so a test observes their effects as soon as Advance returns.
type Fake struct {
	mu     sync.Mutex
	now    time.Time
	seq    int
	timers []*fakeTimer
}

// NewFake returns a fake clock set to start.
func NewFake(start time.Time) *Fake { return &Fake{now: start} }

type fakeTimer struct {
	c       *Fake
	at      time.Time
	seq     int
	f       func()
	pending bool
}

// Now returns the fake time.
func (c *Fake) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// AfterFunc schedules f at Now()+d.
func (c *Fake) AfterFunc(d time.Duration, f func()) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	t := &fakeTimer{c: c, at: c.now.Add(d), seq: c.seq, f: f, pending: true}
	c.timers = append(c.timers, t)
	return t
}

func (t *fakeTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	was := t.pending
	t.pending = false
	return was
}

// Pending returns how many timers have not fired or been stopped.
func (c *Fake) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, t := range c.timers {
		if t.pending {
			n++
		}
	}
	return n
}

// PendingIn reports whether a timer that has not fired or been stopped falls due between lo
// and hi from now (inclusive): a test can wait for one particular wait to be armed while
// other timers come and go.
func (c *Fake) PendingIn(lo, hi time.Duration) bool { return c.CountIn(lo, hi) > 0 }

// CountIn returns how many timers that have not fired or been stopped fall due between lo
// and hi from now (inclusive): a test waiting for several clients' waits counts only those,
// not the call timers armed beside them.
func (c *Fake) CountIn(lo, hi time.Duration) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, t := range c.timers {
		if d := t.at.Sub(c.now); t.pending && d >= lo && d <= hi {
			n++
		}
	}
	return n
}

// Advance moves the clock forward by d, firing every timer due by then, earliest first.
// Timers created by fired functions fire too if they fall due within d.
func (c *Fake) Advance(d time.Duration) {
	c.mu.Lock()
	end := c.now.Add(d)
	c.mu.Unlock()
	for {
		c.mu.Lock()
		next := c.nextDueLocked(end)
		if next == nil {
			c.now = end
			c.compactLocked()
			c.mu.Unlock()
			return
		}
		next.pending = false
		if next.at.After(c.now) {
			c.now = next.at
		}
		f := next.f
		c.mu.Unlock()
		f()
	}
}

func (c *Fake) nextDueLocked(end time.Time) *fakeTimer {
	var due []*fakeTimer
	for _, t := range c.timers {
		if t.pending && !t.at.After(end) {
			due = append(due, t)
		}
	}
	if len(due) == 0 {
		return nil
	}
	sort.Slice(due, func(i, j int) bool {
		if due[i].at.Equal(due[j].at) {
			return due[i].seq < due[j].seq
		}
		return due[i].at.Before(due[j].at)
	})
	return due[0]
}

func (c *Fake) compactLocked() {
	kept := c.timers[:0]
	for _, t := range c.timers {
		if t.pending {
			kept = append(kept, t)
		}
	}
	c.timers = kept
}

// Ticker sends the time on C every interval, on a Clock. Like time.Ticker it drops ticks a
// slow receiver misses rather than queue them.
type Ticker struct {
	C <-chan time.Time

	c        chan time.Time
	clk      Clock
	interval time.Duration
	mu       sync.Mutex
	t        Timer
	stopped  bool
}

// NewTicker starts a ticker on clk. d must be positive.
func NewTicker(clk Clock, d time.Duration) *Ticker {
	c := make(chan time.Time, 1)
	t := &Ticker{C: c, c: c, clk: clk, interval: d}
	t.arm()
	return t
}

func (t *Ticker) arm() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.stopped {
		t.t = t.clk.AfterFunc(t.interval, t.fire)
	}
}

func (t *Ticker) fire() {
	select {
	case t.c <- t.clk.Now():
	default:
	}
	t.arm()
}

// Stop stops the ticker; no tick is sent after it returns, but one may wait in C.
func (t *Ticker) Stop() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.stopped = true
	if t.t != nil {
		t.t.Stop()
	}
}
