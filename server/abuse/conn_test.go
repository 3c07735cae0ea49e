package abuse_test

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/duet-rtc/duet/internal/clock"
	"github.com/duet-rtc/duet/server"
	"github.com/duet-rtc/duet/server/servertest"
	"github.com/duet-rtc/duet/server/signal"
)

// short sets the HTTP timeouts low enough for a test to see them act; the defaults are
// checked by TestDefaultTimeouts.
func short(cfg *server.Config) {
	cfg.ReadHeaderTimeout = 300 * time.Millisecond
	cfg.ReadTimeout = 600 * time.Millisecond
	cfg.IdleTimeout = 300 * time.Millisecond
}

// rawConn opens a TCP connection to the server from src.
func rawConn(t *testing.T, s *servertest.Server, src string) net.Conn {
	t.Helper()
	d := net.Dialer{Timeout: wait}
	if src != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(src)}
	}
	c, err := d.Dial("tcp", strings.TrimPrefix(s.URL, "http://"))
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// expectEOF reads until the server closes c, within wait, and returns what it read.
func expectEOF(t *testing.T, c net.Conn) string {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(wait))
	b, err := io.ReadAll(c)
	if err != nil && !errors.Is(err, syscall.ECONNRESET) { // a reset: closed while we wrote
		t.Fatalf("the server did not close the connection: %v (read %q)", err, b)
	}
	return string(b)
}

func TestIdleKeepAliveIsClosed(t *testing.T) {
	s := servertest.Start(t, short)
	c := rawConn(t, s, "")
	io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("healthz: %v %v", resp, err)
	}
	resp.Body.Close()
	expectEOF(t, c) // then quiet: IdleTimeout closes it
}

func TestSlowBodyIsCut(t *testing.T) {
	s := servertest.Start(t, short)
	c := rawConn(t, s, "")
	io.WriteString(c, "POST "+appPath(s)+"/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{")
	// One byte now and then, well within any per-read timeout, but the whole body never
	// arrives within ReadTimeout.
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				if _, err := io.WriteString(c, " "); err != nil {
					return
				}
			}
		}
	}()
	start := time.Now()
	expectEOF(t, c)
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("a trickled body held the connection %v", d)
	}
}

func TestSilentConnectionIsCut(t *testing.T) {
	s := servertest.Start(t, short)
	expectEOF(t, rawConn(t, s, ""))
}

func TestDefaultTimeouts(t *testing.T) {
	for name, d := range map[string]time.Duration{
		"ReadHeaderTimeout": server.DefaultReadHeaderTimeout, "ReadTimeout": server.DefaultReadTimeout,
		"WriteTimeout": server.DefaultWriteTimeout, "IdleTimeout": server.DefaultIdleTimeout,
	} {
		if d <= 0 || d > 2*time.Minute {
			t.Errorf("default %s is %v: every connection must time out, a slow phone must not", name, d)
		}
	}
}

// TestPendingConnectionsPerAddress fills one source address's quota of unauthenticated
// connections: the next one from it is refused with 503, while a user on another address
// logs in, connects and pings as usual, and authenticated devices on the full address do not
// count.
func TestPendingConnectionsPerAddress(t *testing.T) {
	s := servertest.Start(t)
	s.AddUser("alice", "secret-1")
	tok := login(t, s, "alice", "secret-1")
	const attacker = "127.0.0.2"
	for range server.DefaultMaxPendingConnsPerAddr {
		rawConn(t, s, attacker) // connects and says nothing
	}
	over := rawConn(t, s, attacker)
	if got := expectEOF(t, over); !strings.HasPrefix(got, "HTTP/1.1 503") {
		t.Fatalf("connection over the quota got %q, want a 503", got)
	}
	// A real user elsewhere does not notice.
	start := time.Now()
	login(t, s, "alice", "secret-1")
	d := connect(t, s, tok, "phone")
	if err := d.ping(); err != nil {
		t.Fatalf("ping: %v", err)
	}
	el := time.Since(start)
	t.Logf("%d idle connections held from one address, the next refused with 503; meanwhile a user elsewhere logged in, connected and pinged in %v",
		server.DefaultMaxPendingConnsPerAddr, el)
	if el > 5*time.Second { // a login hashes a password: slow under -race on a busy machine, never stuck
		t.Fatalf("a real user waited %v", el)
	}
}

// TestAuthenticatedDevicesDoNotCount: devices whose hello was accepted free their address's
// slots, so many users behind one NAT address can all stay connected.
func TestAuthenticatedDevicesDoNotCount(t *testing.T) {
	s := servertest.Start(t, func(c *server.Config) { c.MaxPendingConnsPerAddr = 4 })
	s.AddUser("alice", "secret-1")
	tok := login(t, s, "alice", "secret-1")
	var devs []*device
	for i := range 8 {
		devs = append(devs, connect(t, s, tok, "d"+string(rune('0'+i))))
	}
	for _, d := range devs {
		if err := d.ping(); err != nil {
			t.Fatalf("ping: %v", err)
		}
	}
}

// TestSilentWebSocketIsCut: an upgraded connection that never says hello is closed after
// the hello timeout (10 s, on the server's clock), and frees its address's slot.
func TestSilentWebSocketIsCut(t *testing.T) {
	clk := clock.NewFake(time.Now())
	s := servertest.Start(t, servertest.WithClock(clk))
	ws, err := dialFrom(t, s, "127.0.0.2")
	if err != nil {
		t.Fatal(err)
	}
	d := &device{t: t, ws: ws}
	done := make(chan websocket.CloseError, 1)
	go func() {
		_, ce, _ := d.closed()
		done <- ce
	}()
	// The server arms the hello timeout once it has accepted the upgrade, which may be just
	// after the client's dial returned: advance the clock only once it is armed.
	for deadline := time.Now().Add(wait); !clk.PendingIn(time.Millisecond, signal.DefaultHelloTimeout); {
		if time.Now().After(deadline) {
			t.Fatal("the server armed no hello timeout")
		}
		time.Sleep(time.Millisecond)
	}
	clk.Advance(signal.DefaultHelloTimeout)
	select {
	case ce := <-done:
		if ce.Code != signal.CloseTimeout {
			t.Fatalf("closed with %d %q, want %d", ce.Code, ce.Reason, signal.CloseTimeout)
		}
	case <-time.After(wait):
		t.Fatal("a WebSocket without hello is still open after the hello timeout")
	}
}
