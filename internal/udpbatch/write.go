package udpbatch

import (
	"net/netip"
	"runtime"
)

// writeBatch is the most datagrams one sendmmsg carries. Under load, writers queue while the
// flusher yields: with 64, a third of the relay benchmark's packets found the queue full and
// went out one sendto each.
const writeBatch = 256

// WriteToAddrPort sends one datagram. With batching it queues a copy; the writer that finds
// no flush under way yields the processor once, so that the goroutines ready to write join
// the batch, and then sends the queue with one sendmmsg per batch until it is empty. There
// is no goroutine of its own, so no hand-off: the cost is one yield per batch. Batches go
// out one at a time and in order, so each writer's datagrams stay in order. An error is
// returned to the writer that sent the batch.
func (c *Conn) WriteToAddrPort(b []byte, addr netip.AddrPort) (int, error) {
	if c.w == nil {
		return c.conn.WriteToUDPAddrPort(b, addr)
	}
	c.wmu.Lock()
	for c.wq.full() {
		// The flushing writer has not come back for the queue yet: send it now.
		c.wmu.Unlock()
		_ = c.sendQueued() // others' datagrams: their loss is UDP's
		c.wmu.Lock()
	}
	c.wq.add(b, addr)
	lead := !c.flushing
	c.flushing = true
	c.wmu.Unlock()
	if !lead {
		return len(b), nil
	}
	runtime.Gosched()
	var firstErr error
	for {
		if err := c.sendQueued(); err != nil && firstErr == nil {
			firstErr = err
		}
		c.wmu.Lock()
		if c.wq.n == 0 {
			c.flushing = false
			c.wmu.Unlock()
			break
		}
		c.wmu.Unlock()
	}
	if firstErr != nil {
		return 0, firstErr
	}
	return len(b), nil
}

// sendQueued sends what is queued. smu makes the batches go out one at a time, in the
// order they were taken, and frees the spare queue for the next.
func (c *Conn) sendQueued() error {
	c.smu.Lock()
	defer c.smu.Unlock()
	c.wmu.Lock()
	q := c.wq
	c.wq, c.wspare = c.wspare, q
	c.wmu.Unlock()
	if q.n == 0 {
		return nil
	}
	c.stats.writeBatches.Add(1)
	c.stats.written.Add(uint64(q.n))
	return c.w.send(q)
}

// QueueToAddrPort queues a copy of b for addr without sending it: a caller that writes many
// datagrams in a row (the relay forwarding a read batch) queues them and calls Flush once,
// with no yield per datagram. A full queue is sent first. Without batching it sends at once.
func (c *Conn) QueueToAddrPort(b []byte, addr netip.AddrPort) error {
	if c.w == nil {
		_, err := c.conn.WriteToUDPAddrPort(b, addr)
		return err
	}
	c.wmu.Lock()
	for c.wq.full() {
		c.wmu.Unlock()
		_ = c.sendQueued()
		c.wmu.Lock()
	}
	c.wq.add(b, addr)
	c.wmu.Unlock()
	return nil
}

// Flush sends every queued datagram.
func (c *Conn) Flush() error {
	if c.w == nil {
		return nil
	}
	var firstErr error
	for {
		if err := c.sendQueued(); err != nil && firstErr == nil {
			firstErr = err
		}
		c.wmu.Lock()
		empty := c.wq.n == 0
		c.wmu.Unlock()
		if empty {
			return firstErr
		}
	}
}
