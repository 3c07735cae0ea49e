package signal

import "time"

// Each connection has one timer. It fires at the hello deadline, then at each heartbeat
// deadline, then at the close deadline; a frame from the device only stores lastSeen, and
// the timer, when it fires, re-arms itself at lastSeen plus the timeout if the device has
// been heard since.

// armLocked replaces the connection's timer with one that fires after d.
func (c *conn) armLocked(d time.Duration) {
	c.stopTimerLocked()
	gen := c.timerGen
	c.timer = c.hub.clock.AfterFunc(d, func() { c.onTimer(gen) })
}

func (c *conn) stopTimerLocked() {
	if c.timer != nil {
		c.timer.Stop()
		c.timer = nil
	}
	c.timerGen++
}

// onTimer handles the deadline of the timer numbered gen.
func (c *conn) onTimer(gen uint32) {
	defer c.recoverPanic("timer")
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.timerGen {
		return // stopped or replaced while it fired
	}
	c.timer = nil
	switch {
	case c.state == stateClosing:
		c.abortLocked("close handshake timed out")
	case c.state != stateOpen:
	case c.timeout == 0:
		if c.closeWithLocked(nil, CloseTimeout, "hello timeout", dropHello) {
			c.hub.m.loginFailures.Inc()
		}
	default:
		idle := c.hub.clock.Now().UnixNano() - c.lastSeen.Load()
		if idle >= c.timeout {
			c.hub.log.Debug("signal: heartbeat timeout", "remote", c.nc.RemoteAddr(), "app", c.dev.App,
				"user", c.dev.User, "device", c.dev.ID, "idle", time.Duration(idle))
			c.closeWithLocked(nil, CloseTimeout, "heartbeat timeout", dropHeartbeat)
			return
		}
		c.armLocked(time.Duration(c.timeout - idle))
	}
}
