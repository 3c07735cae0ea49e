package udpbatch

import (
	"net"
	"net/netip"
	"runtime"

	"golang.org/x/net/ipv4"
)

// writeBatch is the most datagrams one sendmmsg carries. Under load, writers queue while the
// flusher yields: with 64, a third of the relay benchmark's packets found the queue full and
// went out one sendto each.
const writeBatch = 256

// sendQueue is a batch of datagrams waiting to be sent, with storage of their own (the
// writer's buffer is reused as soon as WriteTo returns).
type sendQueue struct {
	msgs  []ipv4.Message
	addrs []net.UDPAddr // msgs[i].Addr is &addrs[i]
	n     int
}

func newSendQueue() *sendQueue {
	q := &sendQueue{msgs: make([]ipv4.Message, writeBatch), addrs: make([]net.UDPAddr, writeBatch)}
	for i := range q.msgs {
		q.msgs[i].Buffers = [][]byte{nil} // grown by add, then reused
		q.addrs[i].IP = make(net.IP, 0, net.IPv6len)
		q.msgs[i].Addr = &q.addrs[i]
	}
	return q
}

// add queues a copy of b for addr; the queue must not be full.
func (q *sendQueue) add(b []byte, addr netip.AddrPort) {
	m := &q.msgs[q.n]
	m.Buffers[0] = append(m.Buffers[0][:0], b...)
	a := &q.addrs[q.n]
	ip := addr.Addr()
	if ip.Is4() {
		v4 := ip.As4()
		a.IP = append(a.IP[:0], v4[:]...)
	} else {
		v6 := ip.As16()
		a.IP = append(a.IP[:0], v6[:]...)
	}
	a.Port, a.Zone = int(addr.Port()), ip.Zone()
	q.n++
}

// WriteToAddrPort sends one datagram. With batching it queues a copy; the writer that finds
// no flush under way yields the processor once, so that the goroutines ready to write join
// the batch, and then sends the queue with one sendmmsg per batch until it is empty. There
// is no goroutine of its own, so no hand-off: the cost is one yield per batch. Batches go
// out one at a time and in order, so each writer's datagrams stay in order. An error is
// returned to the writer that sent the batch.
func (c *Conn) WriteToAddrPort(b []byte, addr netip.AddrPort) (int, error) {
	if c.batch == nil {
		return c.conn.WriteToUDPAddrPort(b, addr)
	}
	c.wmu.Lock()
	for c.wq.n == writeBatch {
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
	var firstErr error
	for sent := 0; sent < q.n; {
		n, err := c.batch.WriteBatch(q.msgs[sent:q.n], 0)
		if err != nil || n == 0 {
			if firstErr == nil && err != nil {
				firstErr = err
			}
			sent++ // skip the datagram that failed
			continue
		}
		sent += n
	}
	q.n = 0
	return firstErr
}

// QueueToAddrPort queues a copy of b for addr without sending it: a caller that writes many
// datagrams in a row (the relay forwarding a read batch) queues them and calls Flush once,
// with no yield per datagram. A full queue is sent first. Without batching it sends at once.
func (c *Conn) QueueToAddrPort(b []byte, addr netip.AddrPort) error {
	if c.batch == nil {
		_, err := c.conn.WriteToUDPAddrPort(b, addr)
		return err
	}
	c.wmu.Lock()
	for c.wq.n == writeBatch {
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
	if c.batch == nil {
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
