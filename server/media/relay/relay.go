// Package relay is the server's media relay for recorded calls: a selective forwarding unit
// for two parties. Each party's device has one connection to the server (a leg); the relay
// answers the device's offer and forwards every RTP packet from one party's active leg to
// the other party's active leg, without transcoding.
//
// Each leg is negotiated by the relay itself on one shared UDP socket: its own answer to the
// device's offer (sdp.go, pion/sdp), an ICE agent (pion/ice) and a DTLS server (pion/dtls).
// The packet path is the relay's own (packet.go): SRTP and SRTCP are unprotected, rewritten
// and protected again on the goroutine that read them from the socket, with the keys each
// leg's DTLS connection exports (dtls.go), and forwards leave in batches. RTCP travels end to end with its
// SSRCs mapped (reports, NACK, REMB); PLI and FIR become the relay's own throttled PLI.
//
// The relay knows nothing of files: a Tap sees the packets of active legs (recording is
// server/media/recorder's job) and the senders' reports.
//
// A party may have several legs while the call rings (one per callee device that rang);
// only its active leg is forwarded and tapped. The caller's leg is active at once; the
// callee's active leg is the answering device's, which the relay learns from CallConfig.Active
// when media first needs it.
//
// Threading: every method is safe for concurrent use. Tap methods run on the socket's
// reading goroutine, one datagram at a time per leg.
//
// Cost (BenchmarkRelayForwarding, 2-core VM, loopback): see docs/ARCHITECTURE.md "Media
// relay" for the measured packets per second per core.
package relay

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"

	"github.com/pion/ice/v4"
	"github.com/pion/logging"

	"github.com/duet-rtc/duet/internal/pionlog"
)

// Config shapes a Relay. The zero value gathers on every interface with ephemeral ports.
type Config struct {
	// LoopbackOnly restricts ICE to UDP over 127.0.0.0/8 (tests, and hosts whose other
	// interfaces must not be used).
	LoopbackOnly bool
	// IPFilter, if set, keeps only the local and remote candidate addresses it accepts.
	IPFilter func(net.IP) bool
	// PortMin and PortMax, if both set, bound the one UDP port every leg shares (per local
	// address): the first of them that is free. Unset, any free port.
	PortMin, PortMax uint16
	// Readers is how many sockets share each local address (SO_REUSEPORT), each read and
	// forwarded from by a goroutine of its own; default 1. One reader forwards with at most
	// one core; more spread the work over cores but cost more per packet, as batches are
	// smaller and wake-ups more (on the 2-core VM, 2 readers forwarded 120k–150k packets/s
	// per core against 194k–223k for 1). One device's datagrams always reach the same socket.
	Readers int
	// PublicIPs, if set, are announced as host candidates instead of the local addresses
	// (a server behind 1:1 NAT).
	PublicIPs []string
	// MaxLegsPerCall bounds the legs one call may have at a time; default 16.
	MaxLegsPerCall int
	// Logger receives the relay's and pion's logs; nil discards them.
	Logger *slog.Logger
}

// ErrClosed is returned for calls or relays that are closed.
var ErrClosed = errors.New("relay: closed")

// Relay owns the relayed calls of one server.
type Relay struct {
	cfg       Config
	agentOpts []ice.AgentOption // every leg's ICE agent's
	cert      *certificate      // every leg's DTLS certificate
	logs      logging.LoggerFactory
	log       *slog.Logger
	mux       io.Closer // the shared UDP socket(s)
	router    router

	mu     sync.Mutex
	calls  map[string]*Call
	closed bool

	stats counters
}

// counters are the relay's totals, updated atomically on the packet path.
type counters struct {
	packetsIn, packetsOut, bytesIn, dropped, writeErrors, keyframeRequests, held, unsent atomic.Uint64
	legs, calls                                                                          atomic.Int64
}

// Stats is a snapshot of the relay's counters.
type Stats struct {
	Calls, Legs      int64  // open now
	PacketsIn        uint64 // RTP packets read from legs
	BytesIn          uint64 // their payload bytes
	PacketsOut       uint64 // RTP packets forwarded
	Dropped          uint64 // packets read but not forwarded: inactive leg, no target yet
	WriteErrors      uint64 // forwarding writes that failed
	KeyframeRequests uint64 // PLIs sent to senders
	Held             uint64 // video packets sent late: held until their leg had keys
	Unsent           uint64 // video packets forwarded late: kept until the call was answered
}

// New makes a relay and opens its UDP socket(s).
func New(cfg Config) (*Relay, error) {
	if cfg.MaxLegsPerCall <= 0 {
		cfg.MaxLegsPerCall = 16
	}
	if cfg.Readers <= 0 {
		cfg.Readers = 1
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &Relay{cfg: cfg, log: log, calls: make(map[string]*Call)}
	r.router.legs = make(map[netip.AddrPort]*leg)
	if err := r.setUp(); err != nil {
		return nil, fmt.Errorf("relay: %w", err)
	}
	return r, nil
}

// Stats returns the relay's counters.
func (r *Relay) Stats() Stats {
	s := &r.stats
	return Stats{
		Calls: s.calls.Load(), Legs: s.legs.Load(),
		PacketsIn: s.packetsIn.Load(), BytesIn: s.bytesIn.Load(), PacketsOut: s.packetsOut.Load(),
		Dropped: s.dropped.Load(), WriteErrors: s.writeErrors.Load(), KeyframeRequests: s.keyframeRequests.Load(),
		Held: s.held.Load(), Unsent: s.unsent.Load(),
	}
}

// Open returns the call with id, creating it with cfg when it does not exist yet (cfg is
// ignored for an existing call). created reports which.
func (r *Relay) Open(id string, cfg CallConfig) (c *Call, created bool, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, false, ErrClosed
	}
	if c := r.calls[id]; c != nil {
		return c, false, nil
	}
	if !cfg.Audio && !cfg.Video {
		return nil, false, errors.New("relay: a call needs audio, video or both")
	}
	c = newCall(r, id, cfg)
	r.calls[id] = c
	r.stats.calls.Add(1)
	return c, true, nil
}

// Get returns the open call with id, or nil.
func (r *Relay) Get(id string) *Call {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls[id]
}

func (r *Relay) forget(c *Call) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.calls[c.id] == c {
		delete(r.calls, c.id)
		r.stats.calls.Add(-1)
	}
}

// Close closes every call (waiting for their goroutines) and refuses new ones.
func (r *Relay) Close() {
	r.mu.Lock()
	r.closed = true
	calls := make([]*Call, 0, len(r.calls))
	for _, c := range r.calls {
		calls = append(calls, c)
	}
	r.mu.Unlock()
	var wg sync.WaitGroup
	for _, c := range calls {
		wg.Add(1)
		go func() { defer wg.Done(); c.Close() }()
	}
	wg.Wait()
	if r.mux != nil {
		r.mux.Close()
	}
}

// setUp opens the shared socket(s), makes the relay's DTLS certificate, and builds the
// options every leg's ICE agent starts from: host candidates as cfg restricts them, on the
// relay's UDP mux.
func (r *Relay) setUp() error {
	cfg := r.cfg
	cert, err := newCertificate()
	if err != nil {
		return err
	}
	r.cert = cert
	r.logs = pionlog.Factory{Log: r.log}
	opts := []ice.AgentOption{
		ice.WithMulticastDNSMode(ice.MulticastDNSModeDisabled),
		ice.WithCandidateTypes([]ice.CandidateType{ice.CandidateTypeHost}),
		ice.WithLoggerFactory(r.logs),
	}
	if filter := ipFilter(cfg); filter != nil {
		opts = append(opts, ice.WithIPFilter(filter), ice.WithRemoteIPFilter(filter))
	}
	if cfg.LoopbackOnly {
		opts = append(opts, ice.WithIncludeLoopback(), ice.WithNetworkTypes([]ice.NetworkType{ice.NetworkTypeUDP4}))
	} else {
		opts = append(opts, ice.WithNetworkTypes([]ice.NetworkType{ice.NetworkTypeUDP4, ice.NetworkTypeUDP6}))
	}
	if len(cfg.PublicIPs) > 0 {
		opts = append(opts, ice.WithAddressRewriteRules(ice.AddressRewriteRule{
			External: cfg.PublicIPs, AsCandidateType: ice.CandidateTypeHost,
		}))
	}
	mux, err := r.listen()
	if err != nil {
		return err
	}
	r.mux = mux
	r.agentOpts = append(opts, ice.WithUDPMux(mux))
	return nil
}

// nextSSRC returns a random non-zero SSRC.
func (*Relay) nextSSRC() uint32 {
	for {
		if v := rand.Uint32(); v != 0 {
			return v
		}
	}
}

// listen opens the shared UDP socket(s) on the first free port of cfg's range.
func (r *Relay) listen() (*ice.MultiUDPMuxDefault, error) {
	ips, err := localIPs(r.cfg, r.log)
	if err != nil {
		return nil, err
	}
	if len(ips) == 0 {
		return nil, errors.New("no local address to listen on: no up interface has an address the relay may use (is the loopback interface up?)")
	}
	lo, hi := int(r.cfg.PortMin), int(r.cfg.PortMax)
	if lo == 0 || hi == 0 || hi < lo {
		return newUDPMux(r.cfg, ips, 0, &r.router, r.log)
	}
	var firstErr error
	for port := lo; port <= hi; port++ {
		m, err := newUDPMux(r.cfg, ips, uint16(port), &r.router, r.log)
		if err == nil {
			return m, nil
		}
		if firstErr == nil {
			firstErr = fmt.Errorf("udp port %d: %w", port, err)
		}
	}
	return nil, firstErr
}

func ipFilter(cfg Config) func(net.IP) bool {
	user := cfg.IPFilter
	switch {
	case cfg.LoopbackOnly && user != nil:
		return func(ip net.IP) bool { return ip.IsLoopback() && user(ip) }
	case cfg.LoopbackOnly:
		return func(ip net.IP) bool { return ip.IsLoopback() }
	default:
		return user
	}
}
