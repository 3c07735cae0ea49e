package rtc

import (
	"github.com/duet-rtc/duet/internal/codecs"
	"github.com/duet-rtc/duet/internal/pionlog"
	"net"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/nack"
	"github.com/pion/webrtc/v4"
)

// Payload types and codec parameters as Chrome offers them, so that an answer to a browser
// needs no remapping.
const (
	opusPayloadType = codecs.OpusPayloadType
	vp8PayloadType  = codecs.VP8PayloadType
	opusFmtp        = codecs.OpusFmtp
)

// newAPI builds the pion API for cfg: Opus and VP8 only, the interceptors a 1-on-1 call
// needs, and ICE restricted as cfg asks.
//
// A per-peer API costs a few microseconds (BenchmarkNewAPI), far below the per-connection
// work (DTLS certificate, sockets), so there is no cache to get wrong: a Config's logger and
// IP filter, which cannot be compared, simply belong to its peer.
func newAPI(cfg Config) (*webrtc.API, error) {
	me := &webrtc.MediaEngine{}
	if err := codecs.Register(me); err != nil {
		return nil, err
	}

	reg := &interceptor.Registry{}
	// NACK: the generator asks for lost video packets, the responder resends ours. Added
	// directly rather than with ConfigureNack, which would list the feedback a second time.
	gen, err := nack.NewGeneratorInterceptor()
	if err != nil {
		return nil, err
	}
	resp, err := nack.NewResponderInterceptor()
	if err != nil {
		return nil, err
	}
	reg.Add(resp)
	reg.Add(gen)
	// Sender and receiver reports: round-trip time, loss, and lip sync at the far end.
	if err := webrtc.ConfigureRTCPReports(reg); err != nil {
		return nil, err
	}
	// Transport-wide congestion feedback on what we receive: a browser sending to us sizes
	// its bitrate from it (without any feedback it stays at its start rate).
	if err := webrtc.ConfigureTWCCSender(me, reg); err != nil {
		return nil, err
	}

	se := webrtc.SettingEngine{}
	// mDNS would send multicast queries and open a socket per peer. pion still connects to a
	// browser that hides its address behind a .local name, through peer-reflexive candidates.
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	if filter := cfg.ipFilter(); filter != nil {
		// The same filter for local and remote candidates: no connectivity check may leave
		// for an address the filter refuses, whoever named it.
		se.SetIPFilter(filter)
		se.SetRemoteIPFilter(filter)
	}
	if cfg.LoopbackOnly {
		se.SetIncludeLoopbackCandidate(true)
		se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	}
	if cfg.Net != nil {
		se.SetNet(cfg.Net)
		se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	}
	if cfg.RelayOnly {
		// Only relay pairs exist, so waiting for a better kind of pair is pure delay.
		se.SetRelayAcceptanceMinWait(0)
	}
	// Start reading remote tracks as soon as they are negotiated, during pre-connect, rather
	// than from pion's peek at the first packet: the first frame after accept then goes
	// straight to a waiting reader.
	se.SetFireOnTrackBeforeFirstRTP(true)
	se.LoggerFactory = pionlog.Factory{Log: cfg.logger()}

	return webrtc.NewAPI(
		webrtc.WithMediaEngine(me),
		webrtc.WithInterceptorRegistry(reg),
		webrtc.WithSettingEngine(se),
	), nil
}

// ipFilter combines LoopbackOnly and IPFilter; nil when neither restricts anything.
func (cfg Config) ipFilter() func(net.IP) bool {
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
