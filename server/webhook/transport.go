package webhook

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"syscall"
	"time"
)

// Transport is an http.Transport for outbound HTTPS (webhooks, push providers) whose
// connections can all be closed at shutdown, busy or idle. CloseIdleConnections alone can
// miss an HTTP/2 connection whose last stream is still being torn down, and its reader
// goroutine would outlive the server.
type Transport struct {
	*http.Transport

	mu     sync.Mutex
	conns  map[*trackedConn]struct{}
	closed bool
}

// NewTransport returns a Transport with tlsConfig (nil: the system's roots) that speaks
// HTTP/2 where the server offers it.
func NewTransport(tlsConfig *tls.Config) *Transport { return newTransport(tlsConfig, nil) }

// NewGuardedTransport is NewTransport for URLs that clients chose (Web Push endpoints): it
// connects only to addresses allow accepts, checked on the resolved address of each
// connection, so a name that resolves to a private address is refused too.
func NewGuardedTransport(tlsConfig *tls.Config, allow func(netip.Addr) bool) *Transport {
	return newTransport(tlsConfig, allow)
}

func newTransport(tlsConfig *tls.Config, allow func(netip.Addr) bool) *Transport {
	if tlsConfig != nil {
		// net/http adds its ALPN protocols to the config on first use: a shared one would be
		// written while another transport reads it.
		tlsConfig = tlsConfig.Clone()
	}
	t := &Transport{conns: map[*trackedConn]struct{}{}}
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	if allow != nil {
		d.Control = func(_, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil || !allow(ap.Addr().Unmap()) {
				return fmt.Errorf("%w: %s", ErrAddressRefused, address)
			}
			return nil
		}
	}
	t.Transport = &http.Transport{
		Proxy: http.ProxyFromEnvironment,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return t.dial(ctx, d, network, addr)
		},
		TLSClientConfig:     tlsConfig,
		ForceAttemptHTTP2:   true,
		TLSHandshakeTimeout: 10 * time.Second,
		MaxIdleConnsPerHost: 8,
		IdleConnTimeout:     90 * time.Second,
	}
	return t
}

func (t *Transport) dial(ctx context.Context, d *net.Dialer, network, addr string) (net.Conn, error) {
	c, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	tc := &trackedConn{Conn: c, t: t}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		c.Close()
		return nil, net.ErrClosed
	}
	t.conns[tc] = struct{}{}
	return tc, nil
}

// ErrAddressRefused is a guarded transport's refusal of an address.
var ErrAddressRefused = errors.New("address not allowed")

// Close closes every connection and refuses new ones.
func (t *Transport) Close() {
	t.mu.Lock()
	t.closed = true
	conns := make([]*trackedConn, 0, len(t.conns))
	for c := range t.conns {
		conns = append(conns, c)
	}
	t.mu.Unlock()
	t.Transport.CloseIdleConnections()
	for _, c := range conns {
		c.Close()
	}
}

type trackedConn struct {
	net.Conn
	t    *Transport
	once sync.Once
}

func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.t.mu.Lock()
		delete(c.t.conns, c)
		c.t.mu.Unlock()
	})
	return c.Conn.Close()
}
