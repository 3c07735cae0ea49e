// Package relay is the server's media relay for recorded calls: a selective forwarding unit
// for two parties. Each party's device has one connection to the server (a leg); the relay
// answers the device's offer and forwards every RTP packet from one party's active leg to
// the other party's active leg, without transcoding.
//
// pion negotiates each leg (SDP, ICE, DTLS) on one shared UDP socket. The packet path is
// the relay's own (packet.go): SRTP and SRTCP are unprotected, rewritten and protected again
// on the goroutine that read them from the socket, with the keys of each leg's DTLS
// handshake (keys.go), and forwards leave in batches. RTCP travels end to end with its
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
	"net"
	"net/netip"
	"sync"
	"sync/atomic"

	"github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"

	"github.com/duet-rtc/duet/internal/codecs"
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
	cfg    Config
	se     webrtc.SettingEngine // each leg's, before its DTLS hooks
	log    *slog.Logger
	mux    io.Closer // the shared UDP socket(s)
	router router

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

// setUp opens the shared socket(s) and builds the setting engine every leg starts from:
// ICE as cfg restricts it, on the relay's UDP mux.
func (r *Relay) setUp() error {
	cfg := r.cfg
	se := webrtc.SettingEngine{}
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	if filter := ipFilter(cfg); filter != nil {
		se.SetIPFilter(filter)
		se.SetRemoteIPFilter(filter)
	}
	if cfg.LoopbackOnly {
		se.SetIncludeLoopbackCandidate(true)
		se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	} else {
		se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6})
	}
	mux, err := r.listen()
	if err != nil {
		return err
	}
	se.SetICEUDPMux(mux)
	r.mux = mux
	if len(cfg.PublicIPs) > 0 {
		//nolint:staticcheck // SetICEAddressRewriteRules replaces it; moving needs a test behind 1:1 NAT first
		se.SetNAT1To1IPs(cfg.PublicIPs, webrtc.ICECandidateTypeHost)
	}
	se.SetFireOnTrackBeforeFirstRTP(true)
	se.LoggerFactory = pionlog.Factory{Log: r.log}
	r.se = se
	return nil
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

// legAPI builds one leg's pion API: Opus and VP8 with the SDK's feedback, no interceptors
// (the packet path is the relay's own), and a DTLS server that shows keys its handshake.
// pion copies the media engine and setting engine per API anyway.
func (r *Relay) legAPI(keys *dtlsKeys) (*webrtc.API, error) {
	me := &webrtc.MediaEngine{}
	if err := codecs.Register(me); err != nil {
		return nil, err
	}
	se := r.se
	if err := keys.install(&se); err != nil {
		return nil, err
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithSettingEngine(se)), nil
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
