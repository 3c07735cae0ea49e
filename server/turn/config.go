package turn

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"runtime"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/duet-rtc/duet/internal/clock"
)

// Defaults for Config fields left zero.
const (
	DefaultCredentialTTL         = 10 * time.Minute
	DefaultMaxAllocationsPerUser = 10
	DefaultRealm                 = "duet"
	DefaultSocketBuffer          = 1 << 20
	DefaultTCPIdleTimeout        = 2 * time.Minute
)

// Config configures a Server. Zero fields take the defaults documented on each.
type Config struct {
	// Addr is the host:port the UDP listeners and the TCP listener bind to, for example
	// "0.0.0.0:3478". Port 0 picks a free port (the same one for UDP and TCP). Required.
	Addr string
	// PublicIP is the address clients reach the server at: it goes into the turn: URLs and
	// is announced as the relay address. Default: RelayIP.
	PublicIP net.IP
	// RelayIP is the local address relay sockets bind to. Default: the host of Addr, which
	// must then not be unspecified (0.0.0.0 or ::).
	RelayIP net.IP
	// RelayPortMin and RelayPortMax bound the relay ports (inclusive). Both 0: any port the
	// system assigns.
	RelayPortMin, RelayPortMax uint16
	// Secret is the HMAC key of the credentials; at least 16 bytes. Required.
	Secret []byte
	// CredentialTTL is how long an issued credential can open allocations; default 10 min.
	// An allocation made in time lives on through refreshes.
	CredentialTTL time.Duration
	// MaxAllocationsPerUser caps the live allocations of one (app, user); default 10. Each
	// peer connection takes one per TURN URL (UDP and TCP), and a caller pre-connects to
	// every ringing device of the callee.
	MaxAllocationsPerUser int
	// Peers decides which peer addresses relays may exchange packets with; the zero value
	// allows public addresses only (see PeerPolicy).
	Peers PeerPolicy
	// UDPListeners is how many UDP sockets share Addr (SO_REUSEPORT); default the number of
	// CPUs. Where SO_REUSEPORT is missing there is one.
	UDPListeners int
	// NoTCP turns the TCP listener off.
	NoTCP bool
	// TCPIdleTimeout closes a TCP client connection that sent nothing for this long;
	// default 2 min (a WebRTC agent checks consent every few seconds).
	TCPIdleTimeout time.Duration
	// SocketBuffer is the receive and send buffer asked for on every UDP socket (the system
	// may cap it, on Linux at net.core.rmem_max and wmem_max); default 1 MiB. Bursts beyond
	// the buffer are dropped by the kernel.
	SocketBuffer int
	// PlainRelays turns the fast path off: pion then reads every relay socket itself, one
	// goroutine and two system calls per packet. The fast path (Linux, IPv4 relays) reads
	// relay sockets in batches on a few threads and sends ChannelData in batches.
	PlainRelays bool
	// Realm is the TURN realm; default "duet".
	Realm string
	// Clock tells the time for credential expiry; default the wall clock.
	Clock clock.Clock
	// Logger receives the server's and pion's log; default slog.Default().
	Logger *slog.Logger
	// Metrics, if set, receives the server's Prometheus collectors.
	Metrics prometheus.Registerer
}

// withDefaults fills defaults and checks the fields that need it.
func (c Config) withDefaults() (Config, error) {
	host, _, err := net.SplitHostPort(c.Addr)
	if err != nil {
		return c, fmt.Errorf("turn: address %q: %w", c.Addr, err)
	}
	if len(c.Secret) < 16 {
		return c, errors.New("turn: the secret must be at least 16 bytes")
	}
	if c.RelayIP == nil {
		c.RelayIP = net.ParseIP(host)
		if c.RelayIP == nil || c.RelayIP.IsUnspecified() {
			return c, fmt.Errorf("turn: listening on %q: set the relay IP", c.Addr)
		}
	}
	if c.RelayIP.IsUnspecified() {
		return c, errors.New("turn: the relay IP must be a specific address")
	}
	if c.PublicIP == nil {
		c.PublicIP = c.RelayIP
	}
	if c.PublicIP.IsUnspecified() {
		return c, errors.New("turn: the public IP must be a specific address")
	}
	if (c.RelayPortMin == 0) != (c.RelayPortMax == 0) || c.RelayPortMin > c.RelayPortMax {
		return c, fmt.Errorf("turn: bad relay port range %d-%d", c.RelayPortMin, c.RelayPortMax)
	}
	if c.CredentialTTL <= 0 {
		c.CredentialTTL = DefaultCredentialTTL
	}
	if c.MaxAllocationsPerUser <= 0 {
		c.MaxAllocationsPerUser = DefaultMaxAllocationsPerUser
	}
	if c.UDPListeners <= 0 {
		c.UDPListeners = runtime.NumCPU()
	}
	if c.TCPIdleTimeout <= 0 {
		c.TCPIdleTimeout = DefaultTCPIdleTimeout
	}
	if c.SocketBuffer <= 0 {
		c.SocketBuffer = DefaultSocketBuffer
	}
	if c.Realm == "" {
		c.Realm = DefaultRealm
	}
	if c.Clock == nil {
		c.Clock = clock.Real{}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c, nil
}

// relayAddrs are the addresses a relay socket of this server can be seen at: the bound IP
// and the announced one.
func (c Config) relayAddrs() []netip.Addr {
	var out []netip.Addr
	for _, ip := range []net.IP{c.RelayIP, c.PublicIP} {
		if a, ok := netip.AddrFromSlice(ip); ok {
			out = append(out, a.Unmap())
		}
	}
	return out
}
