package turn

import (
	"io"
	"log/slog"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/pion/logging"
	pionturn "github.com/pion/turn/v5"
)

var testSecret = []byte("0123456789abcdef0123456789abcdef")

// startServer starts a server on a free loopback port that relays between loopback peers.
func startServer(t *testing.T, mod ...func(*Config)) *Server {
	t.Helper()
	cfg := Config{
		Addr:   "127.0.0.1:0",
		Secret: testSecret,
		Peers:  PeerPolicy{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}},
		Logger: slog.New(slog.DiscardHandler),
	}
	for _, m := range mod {
		m(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// quietLoggers silences pion's client.
var quietLoggers = func() logging.LoggerFactory {
	f := logging.NewDefaultLoggerFactory()
	f.Writer = io.Discard
	return f
}()

// testClient is a pion TURN client over UDP (or TCP) on loopback.
type testClient struct {
	*pionturn.Client
	conn net.PacketConn
}

func (c *testClient) close() {
	c.Client.Close()
	c.conn.Close()
}

func newClient(t *testing.T, s *Server, username, password string, tcp bool) *testClient {
	t.Helper()
	addr := hostPort(net.IPv4(127, 0, 0, 1), s.Port())
	var conn net.PacketConn
	if tcp {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		conn = pionturn.NewSTUNConn(c)
	} else {
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		// The server may send in bursts faster than a race-instrumented client reads.
		_ = c.SetReadBuffer(4 << 20)
		conn = c
	}
	cl, err := pionturn.NewClient(&pionturn.ClientConfig{
		STUNServerAddr: addr, TURNServerAddr: addr, Conn: conn,
		Username: username, Password: password, Realm: DefaultRealm,
		RTO: 100 * time.Millisecond, LoggerFactory: quietLoggers,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := cl.Listen(); err != nil {
		t.Fatal(err)
	}
	tc := &testClient{Client: cl, conn: conn}
	t.Cleanup(tc.close)
	return tc
}

// allocate opens an allocation with a fresh client and the credential of (app, user, call).
func allocate(t *testing.T, s *Server, user string) (*testClient, net.PacketConn, error) {
	t.Helper()
	ice := s.ICEServers("acme#phone", user, "call1")[0]
	c := newClient(t, s, ice.Username, ice.Credential, false)
	relay, err := c.Allocate()
	if err == nil {
		t.Cleanup(func() { relay.Close() })
	}
	return c, relay, err
}

// peerSocket is a plain UDP socket on loopback, standing for the far side of a relay.
func peerSocket(t *testing.T) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}
