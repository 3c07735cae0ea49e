package limit

import (
	"net"
	"net/netip"
	"sync"
	"time"
)

// refusal is what a connection over its address's limit gets before it is closed: a plain
// HTTP answer, so that a browser or the SDK sees "busy, come back" instead of a reset.
const refusal = "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nRetry-After: 10\r\n" +
	"Content-Type: text/plain\r\nContent-Length: 34\r\n\r\ntoo many connections from address\n"

// Listener wraps a net.Listener and bounds how many connections one source address may hold
// until they authenticate. A connection counts from Accept until it is closed or its holder
// calls Authenticated on it (the signalling hub does, once a device's hello is accepted):
// authenticated devices are bounded per user instead, and a NAT with many users behind one
// address must not run out. Connections over the limit are answered 503 and closed at once.
type Listener struct {
	net.Listener
	max    int
	exempt func(netip.Addr) bool
	// OnRefuse, if set, is called for each refused connection (metrics).
	OnRefuse func()

	mu     sync.Mutex
	counts map[netip.Addr]int
}

// NewListener bounds the unauthenticated connections of each source address of ln to max.
// Addresses for which exempt reports true (a trusted reverse proxy) are not bounded; exempt
// may be nil. max 0 or less lets every connection through (but still counts them).
func NewListener(ln net.Listener, max int, exempt func(netip.Addr) bool) *Listener {
	return &Listener{Listener: ln, max: max, exempt: exempt, counts: make(map[netip.Addr]int)}
}

// Accept returns the next connection within its address's limit, refusing the others.
func (l *Listener) Accept() (net.Conn, error) {
	for {
		nc, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		addr := addrOf(nc.RemoteAddr())
		if l.take(addr) {
			return &Conn{Conn: nc, l: l, addr: addr}, nil
		}
		if l.OnRefuse != nil {
			l.OnRefuse()
		}
		go refuse(nc)
	}
}

// take counts a new connection from addr and reports whether it is within the limit.
func (l *Listener) take(addr netip.Addr) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.max > 0 && l.counts[addr] >= l.max && (l.exempt == nil || !l.exempt(addr)) {
		return false
	}
	l.counts[addr]++
	return true
}

func (l *Listener) release(addr netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if n := l.counts[addr] - 1; n > 0 {
		l.counts[addr] = n
	} else {
		delete(l.counts, addr)
	}
}

// Unauthenticated returns how many unauthenticated connections addr holds.
func (l *Listener) Unauthenticated(addr netip.Addr) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.counts[addr]
}

// refuse writes the 503 without waiting on a client that does not read, then closes.
func refuse(nc net.Conn) {
	_ = nc.SetWriteDeadline(time.Now().Add(time.Second))
	_, _ = nc.Write([]byte(refusal)) // best effort: the connection is refused either way
	_ = nc.Close()
}

// addrOf is the key of a peer's limit: its IPv4 address, or its IPv6 /64 (one host, or
// one home network, usually has all of a /64).
func addrOf(a net.Addr) netip.Addr {
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return netip.Addr{}
	}
	ip := ap.Addr().Unmap()
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.Addr()
	}
	return ip
}

// Conn is a connection accepted by a Listener.
type Conn struct {
	net.Conn
	l    *Listener
	addr netip.Addr
	once sync.Once
}

// Authenticated stops counting the connection against its address's limit.
func (c *Conn) Authenticated() { c.once.Do(func() { c.l.release(c.addr) }) }

// Close closes the connection and stops counting it.
func (c *Conn) Close() error {
	c.Authenticated()
	return c.Conn.Close()
}

// NetConn returns the wrapped connection, so that the hub can wait on its socket while idle.
func (c *Conn) NetConn() net.Conn { return c.Conn }
