// Package relay is the server's media relay for recorded calls: a selective forwarding unit
// for two parties. Each party's device has one pion PeerConnection to the server (a leg);
// the relay answers the device's offer, and forwards every RTP packet from one party's
// active leg to the other party's active leg through a TrackLocalStaticRTP per kind, without
// transcoding. RTCP is terminated on each leg: pion's interceptors answer NACKs from their
// send buffer and send reports and transport-wide feedback; PLI and FIR from a receiver are
// forwarded to the sender as a PLI (throttled).
//
// The relay knows nothing of files: a Tap sees the packets of active legs (recording is
// server/media/recorder's job) and the senders' reports.
//
// A party may have several legs while the call rings (one per callee device that rang);
// only its active leg is forwarded and tapped. The caller's leg is active at once; the
// callee's active leg is the answering device's, which the relay learns from CallConfig.Active
// when media first needs it.
//
// Threading: every method is safe for concurrent use. Each leg reads each remote track and
// each RTCP stream on a goroutine of its own; Tap methods run on those goroutines.
//
// Cost (BenchmarkRelayForwarding, 2-core VM, loopback, 40k packets/s): with every leg on one
// UDP port about 80k forwarded packets/s per core at under 0.1 % loss (was 53k before the
// port was read and written in batches, see internal/udpbatch); with a port per leg about
// 66k. A fifth of it is still sendmmsg, as a loopback send also delivers to the receiving
// socket; most of the rest is pion's per-packet path (SRTP, interceptors, four goroutine
// hand-offs from socket to track reader).
package relay

import (
	"errors"
	"fmt"
	"github.com/duet-rtc/duet/internal/codecs"
	"github.com/duet-rtc/duet/internal/pionlog"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/nack"
	"github.com/pion/webrtc/v4"
)

// Payload types and codec parameters as the SDK and Chrome use them.
const (
	opusPayloadType = codecs.OpusPayloadType
	vp8PayloadType  = codecs.VP8PayloadType
	opusFmtp        = codecs.OpusFmtp
)

// Config shapes a Relay. The zero value gathers on every interface with ephemeral ports.
type Config struct {
	// LoopbackOnly restricts ICE to UDP over 127.0.0.0/8 (tests, and hosts whose other
	// interfaces must not be used).
	LoopbackOnly bool
	// IPFilter, if set, keeps only the local and remote candidate addresses it accepts.
	IPFilter func(net.IP) bool
	// PortMin and PortMax, if both set, bound the UDP ports legs listen on. When they are
	// equal, every leg shares that one port (an ICE UDP mux with large socket buffers, read
	// and written in batches): one port to open in a firewall, fewer drops under load, and
	// a fifth less CPU per packet than a port per leg.
	PortMin, PortMax uint16
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
	cfg Config
	api *webrtc.API
	log *slog.Logger
	mux io.Closer // the shared UDP port, if any

	mu     sync.Mutex
	calls  map[string]*Call
	closed bool

	stats counters
}

// counters are the relay's totals, updated atomically on the packet path.
type counters struct {
	packetsIn, packetsOut, bytesIn, dropped, writeErrors, keyframeRequests atomic.Uint64
	legs, calls                                                            atomic.Int64
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
}

// New makes a relay. It opens no socket until a leg is created.
func New(cfg Config) (*Relay, error) {
	if cfg.MaxLegsPerCall <= 0 {
		cfg.MaxLegsPerCall = 16
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	api, mux, err := newAPI(cfg, log)
	if err != nil {
		return nil, fmt.Errorf("relay: %w", err)
	}
	return &Relay{cfg: cfg, api: api, mux: mux, log: log, calls: make(map[string]*Call)}, nil
}

// Stats returns the relay's counters.
func (r *Relay) Stats() Stats {
	s := &r.stats
	return Stats{
		Calls: s.calls.Load(), Legs: s.legs.Load(),
		PacketsIn: s.packetsIn.Load(), BytesIn: s.bytesIn.Load(), PacketsOut: s.packetsOut.Load(),
		Dropped: s.dropped.Load(), WriteErrors: s.writeErrors.Load(), KeyframeRequests: s.keyframeRequests.Load(),
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

// newAPI builds the one pion API every leg shares: Opus and VP8 with the same feedback as
// the SDK, NACK generator and responder, RTCP reports, transport-wide feedback, and ICE as
// cfg restricts it. pion copies the media engine and builds fresh interceptors per
// PeerConnection, so sharing the API shares no state between legs.
func newAPI(cfg Config, log *slog.Logger) (*webrtc.API, io.Closer, error) {
	me := &webrtc.MediaEngine{}
	if err := codecs.Register(me); err != nil {
		return nil, nil, err
	}
	reg := &interceptor.Registry{}
	gen, err := nack.NewGeneratorInterceptor()
	if err != nil {
		return nil, nil, err
	}
	resp, err := nack.NewResponderInterceptor()
	if err != nil {
		return nil, nil, err
	}
	reg.Add(resp)
	reg.Add(gen)
	if err := webrtc.ConfigureRTCPReports(reg); err != nil {
		return nil, nil, err
	}
	if err := webrtc.ConfigureTWCCSender(me, reg); err != nil {
		return nil, nil, err
	}

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
	var mux io.Closer
	switch {
	case cfg.PortMin != 0 && cfg.PortMin == cfg.PortMax:
		m, err := newUDPMux(cfg, cfg.PortMin, log)
		if err != nil {
			return nil, nil, fmt.Errorf("udp port %d: %w", cfg.PortMin, err)
		}
		se.SetICEUDPMux(m)
		mux = m
	case cfg.PortMin != 0 && cfg.PortMax != 0:
		if err := se.SetEphemeralUDPPortRange(cfg.PortMin, cfg.PortMax); err != nil {
			return nil, nil, fmt.Errorf("port range: %w", err)
		}
	}
	if len(cfg.PublicIPs) > 0 {
		se.SetNAT1To1IPs(cfg.PublicIPs, webrtc.ICECandidateTypeHost)
	}
	se.SetFireOnTrackBeforeFirstRTP(true)
	se.LoggerFactory = pionlog.Factory{Log: log}
	return webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(reg), webrtc.WithSettingEngine(se)), mux, nil
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
