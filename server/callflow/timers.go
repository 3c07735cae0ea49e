package callflow

import (
	"time"

	"github.com/duet-rtc/duet/internal/clock"
	"github.com/duet-rtc/duet/protocol"
)

// timer is a pending ring or grace timer. Stop can race with the timer firing, so the
// callback carries the generation it was armed with and does nothing unless the call still
// holds that generation.
type timer struct {
	t   clock.Timer
	gen uint64
	at  time.Time // when it fires: the deadline a call's State keeps
}

func (t *timer) stop() {
	if t.t != nil {
		t.t.Stop()
	}
	*t = timer{}
}

// arm (re)starts t to call fire(gen) after d. Nothing is armed after Close, so a closed
// engine leaves no timer behind.
func (e *Engine) arm(t *timer, d time.Duration, fire func(gen uint64)) {
	t.stop()
	if e.closed.Load() {
		return
	}
	e.gen++
	gen := e.gen
	t.gen = gen
	t.at = e.now().Add(d)
	t.t = e.cfg.Clock.AfterFunc(max(d, 0), func() { fire(gen) })
}

func (e *Engine) armRing(c *call) { e.armRingAt(c, e.cfg.RingTimeout) }

// armRingAt arms the ring timer to fire after d; d <= 0 (a deadline that passed while the
// server was down) fires it at once.
func (e *Engine) armRingAt(c *call, d time.Duration) {
	e.touch(c)
	e.arm(&c.ring, d, func(gen uint64) { e.ringExpired(c, gen) })
}

func (e *Engine) armGrace(c *call, s side) {
	e.arm(&c.grace[s], e.cfg.ReconnectGrace, func(gen uint64) { e.graceExpired(c, s, gen) })
}

// ringExpired ends an unanswered call NoResponse for the caller and every ringing device.
func (e *Engine) ringExpired(c *call, gen uint64) {
	e.lock()
	defer e.unlock()
	if c.ended || c.ring.gen != gen || e.closed.Load() {
		return
	}
	c.ring = timer{}
	e.serverEnd(c, protocol.EndNoResponse)
}

// graceExpired ends a call Failed when a lost device did not come back in time.
func (e *Engine) graceExpired(c *call, s side, gen uint64) {
	e.lock()
	defer e.unlock()
	if c.ended || c.grace[s].gen != gen || e.closed.Load() {
		return
	}
	c.grace[s] = timer{}
	e.serverEnd(c, protocol.EndFailed)
}
