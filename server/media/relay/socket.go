package relay

import (
	"errors"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/duet-rtc/duet/internal/udpbatch"
)

// The relay's sockets. On each local address the relay opens several UDP sockets on one
// port (SO_REUSEPORT), each read by a goroutine of its own, so that forwarding uses as many
// cores as there are readers. The kernel spreads datagrams over the sockets by a hash of
// their addresses, so one device's datagrams always meet the same reader and stay in order.
// pion's ICE UDP mux sees the sockets of one address as one net.PacketConn, a mediaConn,
// from which it reads only what the readers pass on: STUN and DTLS.

// mediaSocket is one relay socket and the state of the goroutine that reads it.
type mediaSocket struct {
	*udpbatch.Conn
	conn    *mediaConn
	scratch scratch // the reader's alone
}

// mediaConn is the sockets on one local address, as pion's UDP mux reads and writes them.
type mediaConn struct {
	socks  []*mediaSocket
	rt     *router
	local  netip.Addr
	toPion chan datagram
	closed chan struct{}
	once   sync.Once
	wg     sync.WaitGroup // the readers
}

// datagram is a datagram the readers pass to pion.
type datagram struct {
	b    []byte
	from netip.AddrPort
}

// pionQueue bounds the datagrams waiting for pion (STUN and DTLS): a full queue drops, as a
// full socket buffer would.
const pionQueue = 1024

// maxDatagram is the largest datagram read whole, pion ice's own receive buffer.
const maxDatagram = 8192

func newMediaConn(conns []*net.UDPConn, rt *router, local netip.Addr) *mediaConn {
	c := &mediaConn{rt: rt, local: local, toPion: make(chan datagram, pionQueue), closed: make(chan struct{})}
	for _, uc := range conns {
		c.socks = append(c.socks, &mediaSocket{Conn: udpbatch.New(uc), conn: c, scratch: newScratch()})
	}
	for _, s := range c.socks {
		c.wg.Add(1)
		go s.read()
	}
	return c
}

// read is a socket's reader: SRTP and SRTCP go down the packet path, the rest to pion.
// Before it may block in a read, it sends the forwards it queued.
func (s *mediaSocket) read() {
	defer s.conn.wg.Done()
	buf := make([]byte, maxDatagram)
	for {
		if s.Buffered() == 0 {
			_ = s.Flush()
		}
		n, from, err := s.ReadFromAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			time.Sleep(time.Millisecond) // a transient error must not spin
			continue
		}
		b := buf[:n]
		if !isSRTP(b) {
			select {
			case s.conn.toPion <- datagram{b: append([]byte(nil), b...), from: from}:
			default:
			}
			continue
		}
		if l := s.conn.rt.lookup(from); l != nil {
			l.receive(s, b)
		}
	}
}

// ReadFromAddrPort returns the next datagram for pion.
func (c *mediaConn) ReadFromAddrPort(b []byte) (int, netip.AddrPort, error) {
	select {
	case d := <-c.toPion:
		return copy(b, d.b), d.from, nil
	case <-c.closed:
		return 0, netip.AddrPort{}, net.ErrClosed
	}
}

// ReadFrom is ReadFromAddrPort for net.PacketConn.
func (c *mediaConn) ReadFrom(b []byte) (int, net.Addr, error) {
	n, ap, err := c.ReadFromAddrPort(b)
	if err != nil {
		return n, nil, err
	}
	return n, net.UDPAddrFromAddrPort(ap), nil
}

// WriteToAddrPort sends pion's datagram from the first socket: every socket of the address
// has the same address and port, so the device cannot tell them apart.
func (c *mediaConn) WriteToAddrPort(b []byte, addr netip.AddrPort) (int, error) {
	return c.socks[0].WriteToAddrPort(b, addr)
}

// WriteTo is WriteToAddrPort for net.PacketConn.
func (c *mediaConn) WriteTo(b []byte, addr net.Addr) (int, error) { return c.socks[0].WriteTo(b, addr) }

// Close closes the sockets and waits for their readers.
func (c *mediaConn) Close() error {
	c.once.Do(func() {
		close(c.closed)
		for _, s := range c.socks {
			_ = s.Close()
		}
	})
	c.wg.Wait()
	return nil
}

// LocalAddr is the address the sockets share.
func (c *mediaConn) LocalAddr() net.Addr { return c.socks[0].LocalAddr() }

// SetDeadline sets the write deadline: reads come from the queue (pion sets none).
func (c *mediaConn) SetDeadline(t time.Time) error { return c.SetWriteDeadline(t) }

// SetReadDeadline is not supported: pion's mux reads until Close.
func (c *mediaConn) SetReadDeadline(time.Time) error { return nil }

// SetWriteDeadline sets the deadline of pion's writes (it aborts blocked writes with it).
func (c *mediaConn) SetWriteDeadline(t time.Time) error { return c.socks[0].SetWriteDeadline(t) }
