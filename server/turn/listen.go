package turn

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/pion/transport/v5/reuseport"
)

// maxTCPConns bounds the TCP client connections; more are closed on accept.
const maxTCPConns = 4096

// listenUDP opens n UDP sockets on addr. With SO_REUSEPORT the kernel spreads clients over
// them by address hash, so that n readers share the load: one pion read loop tops out near
// 100k packets/s. Where the option is missing the second bind fails and one socket serves.
func listenUDP(addr string, n, buffer int) ([]*udpListener, error) {
	lc := net.ListenConfig{Control: reuseport.Control}
	var out []*udpListener
	fail := func(err error) ([]*udpListener, error) {
		for _, l := range out {
			l.UDPConn.Close()
		}
		return nil, err
	}
	for i := 0; i < n; i++ {
		pc, err := lc.ListenPacket(context.Background(), "udp", addr)
		if err != nil {
			if i > 0 {
				break // no SO_REUSEPORT here: one listener it is
			}
			return fail(fmt.Errorf("turn: listen udp %s: %w", addr, err))
		}
		conn := pc.(*net.UDPConn)
		_ = conn.SetReadBuffer(buffer)
		_ = conn.SetWriteBuffer(buffer)
		out = append(out, &udpListener{UDPConn: conn})
		// Port 0 picked a port: the others must share that one.
		addr = conn.LocalAddr().String()
	}
	return out, nil
}

// udpListener is one UDP socket pion reads client packets from.
type udpListener struct {
	*net.UDPConn
	readerOnce sync.Once
	done       func()
}

// ReadFrom reports the end of pion's read loop, which ends on the first error.
func (l *udpListener) ReadFrom(p []byte) (int, net.Addr, error) {
	n, addr, err := l.UDPConn.ReadFrom(p)
	if err != nil {
		l.readerOnce.Do(l.done)
	}
	return n, addr, err
}

// tcpListener accepts TURN-over-TCP clients and tracks their connections, which pion would
// otherwise leave open after its listener closes.
type tcpListener struct {
	net.Listener
	idle time.Duration

	mu      sync.Mutex
	conns   map[*tcpConn]struct{}
	closed  bool
	readers *sync.WaitGroup // the accept loop and one per connection
	once    sync.Once
}

func listenTCP(addr string, idle time.Duration, readers *sync.WaitGroup) (*tcpListener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("turn: listen tcp %s: %w", addr, err)
	}
	readers.Add(1) // pion's accept loop
	return &tcpListener{Listener: ln, idle: idle, conns: make(map[*tcpConn]struct{}), readers: readers}, nil
}

// Accept returns the next connection, closing those over the limit.
func (l *tcpListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				l.once.Do(l.readers.Done)
				return nil, err
			}
			// A transient failure (out of descriptors, an aborted connection) must not end
			// pion's accept loop, which stops at the first error.
			time.Sleep(10 * time.Millisecond)
			continue
		}
		tc := &tcpConn{Conn: c, l: l}
		l.mu.Lock()
		if l.closed || len(l.conns) >= maxTCPConns {
			l.mu.Unlock()
			c.Close()
			continue
		}
		l.conns[tc] = struct{}{}
		l.readers.Add(1)
		l.mu.Unlock()
		return tc, nil
	}
}

// Close closes the listener and every connection it accepted.
func (l *tcpListener) Close() error {
	l.mu.Lock()
	l.closed = true
	conns := make([]*tcpConn, 0, len(l.conns))
	for c := range l.conns {
		conns = append(conns, c)
	}
	l.mu.Unlock()
	err := l.Listener.Close()
	for _, c := range conns {
		c.Conn.Close()
	}
	return err
}

// tcpConn is one TCP client connection.
type tcpConn struct {
	net.Conn
	l          *tcpListener
	readerOnce sync.Once
	closeOnce  sync.Once
}

// Read closes an idle connection (nothing received for the idle timeout) and reports the
// end of pion's reader.
func (c *tcpConn) Read(p []byte) (int, error) {
	_ = c.Conn.SetReadDeadline(time.Now().Add(c.l.idle))
	n, err := c.Conn.Read(p)
	if err != nil {
		c.readerOnce.Do(c.l.readers.Done)
	}
	return n, err
}

// Close closes the connection and forgets it.
func (c *tcpConn) Close() error {
	err := c.Conn.Close()
	c.closeOnce.Do(func() {
		c.l.mu.Lock()
		delete(c.l.conns, c)
		c.l.mu.Unlock()
	})
	return err
}

// hostPort joins an IP and a port.
func hostPort(ip net.IP, port int) string { return net.JoinHostPort(ip.String(), strconv.Itoa(port)) }
