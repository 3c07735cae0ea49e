package signal

import (
	"context"
	"time"

	"github.com/coder/websocket"
)

// Writes. At any moment at most one goroutine writes to the socket: the one that set
// c.writing. What other goroutines send (Hub.Send) is written by a writer goroutine, started
// when something is queued and ended when the queue is empty, so that an idle connection
// costs no goroutine for writing. What the reader queues itself while handling a frame (the
// welcome, replies, errors) it writes itself once the frame is handled, unless a writer is
// running then: a request and its reply need no other goroutine.

// enqueueLocked queues an encoded frame and starts a writer unless one runs.
func (c *conn) enqueueLocked(b []byte) bool {
	if !c.queueLocked(b) {
		return false
	}
	c.startWriterLocked()
	return true
}

// queueLocked queues an encoded frame. A full queue means the device does not drain its
// socket: it is cut rather than waited for.
func (c *conn) queueLocked(b []byte) bool {
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
	return true
}

// startWriterLocked starts a writer goroutine unless a goroutine writes already.
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

// reply queues, from the reader, a frame that the reader writes in flushFromReader.
func (c *conn) reply(b []byte) {
	if b == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.queueLocked(b)
}

// flushFromReader writes, on the reader goroutine, what is queued, unless another goroutine
// is writing (it will write that too) or the connection is closing (closeWithLocked started
// a writer for the close).
func (c *conn) flushFromReader() {
	c.mu.Lock()
	if c.writing || c.aborted || c.state != stateOpen || len(c.queue) == 0 {
		c.mu.Unlock()
		return
	}
	c.writing = true
	c.mu.Unlock()
	c.drain()
}

// writeLoop is the writer goroutine.
func (c *conn) writeLoop() {
	defer c.hub.wg.Done()
	defer c.recoverPanic("writer")
	c.drain()
}

// drain writes the queue until it is empty, then performs the close if one is due. The
// caller has set c.writing; drain clears it unless the connection is closing, so that no
// writer starts after the close.
func (c *conn) drain() {
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
			closeNow := !c.aborted && c.state == stateClosing && !c.closeStarted
			c.closeStarted = true
			code, reason := c.closeCode, c.closeReason
			c.mu.Unlock()
			if closeNow {
				// The handshake is bounded by the library (5 s) and by CloseTimeout. It reads
				// the socket, hence brMu (see conn.idle).
				c.brMu.Lock()
				err := c.ws.Close(code, reason)
				c.brMu.Unlock()
				if err != nil {
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

// writeBatch writes frames under one socket deadline. A deadline on the socket rather than a
// context costs no allocation and leaves nothing behind in the library's writer.
func (c *conn) writeBatch(batch [][]byte) error {
	// A socket whose deadline cannot be set fails its write below, which is what counts.
	_ = c.nc.SetWriteDeadline(time.Now().Add(c.hub.cfg.WriteTimeout))
	defer func() { _ = c.nc.SetWriteDeadline(time.Time{}) }()
	for _, b := range batch {
		if err := c.ws.Write(context.Background(), websocket.MessageText, b); err != nil {
			return err
		}
		c.hub.m.messagesOut.Inc()
	}
	return nil
}
