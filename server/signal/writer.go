package signal

import (
	"context"

	"github.com/coder/websocket"
)

// enqueueLocked queues an encoded frame for the writer, starting one if none runs. A full
// queue means the device does not drain its socket: it is cut rather than waited for.
func (c *conn) enqueueLocked(b []byte) bool {
	if c.state != stateOpen {
		return false
	}
	if len(c.queue) >= c.hub.cfg.SendQueue {
		c.dropReason = dropSlow
		c.hub.log.Info("signal: dropping a slow consumer", "remote", c.nc.RemoteAddr(),
			"app", c.dev.App, "user", c.dev.User, "device", c.dev.ID, "queued", len(c.queue))
		c.abortLocked("slow consumer")
		return false
	}
	c.queue = append(c.queue, b)
	c.startWriterLocked()
	return true
}

// startWriterLocked starts the writer goroutine unless one runs. The writer exists only
// while there is something to write, so an idle connection costs no goroutine for it; at any
// moment at most one goroutine writes to the socket.
func (c *conn) startWriterLocked() {
	if c.writing || c.aborted {
		return
	}
	c.writing = true
	// The reader holds a count of hub.wg until it ends, and it ends only after the state has
	// left stateOpen, past which no writer starts but for the close: so this Add never
	// races with Shutdown's Wait seeing zero.
	c.hub.wg.Add(1)
	go c.writeLoop()
}

// writeLoop drains the queue, then performs the close if one is due, then ends.
func (c *conn) writeLoop() {
	defer c.hub.wg.Done()
	defer c.recoverPanic("writer")
	for {
		c.mu.Lock()
		batch := c.queue
		c.queue = nil
		if len(batch) == 0 {
			if c.state == stateOpen {
				c.writing = false
				c.mu.Unlock()
				return
			}
			// Closing: c.writing stays true so that no writer starts after this one.
			closeNow := !c.aborted && c.state == stateClosing
			code, reason := c.closeCode, c.closeReason
			c.mu.Unlock()
			if closeNow {
				// The handshake is bounded by the library (5 s) and by CloseTimeout.
				if err := c.ws.Close(code, reason); err != nil {
					c.hub.log.Debug("signal: close handshake failed", "remote", c.nc.RemoteAddr(), "err", err)
				}
			}
			return
		}
		c.mu.Unlock()
		if err := c.writeBatch(batch); err != nil {
			c.hub.log.Debug("signal: write failed", "remote", c.nc.RemoteAddr(), "err", err)
			c.abort("write failed")
			return
		}
	}
}

func (c *conn) writeBatch(batch [][]byte) error {
	ctx, cancel := context.WithTimeout(context.Background(), c.hub.cfg.WriteTimeout)
	defer cancel()
	for _, b := range batch {
		if err := c.ws.Write(ctx, websocket.MessageText, b); err != nil {
			return err
		}
		c.hub.m.messagesOut.Inc()
	}
	return nil
}
