package server

import (
	"crypto/tls"
	"log/slog"
	"net"
	"net/netip"
	"time"

	"github.com/duet-rtc/duet/internal/clock"
	"github.com/duet-rtc/duet/server/limit"
	"github.com/duet-rtc/duet/server/store"
	"github.com/duet-rtc/duet/server/turn"
)

// Config configures a Server. Zero values take the defaults documented on each field.
type Config struct {
	// Addr is the listen address; default 127.0.0.1:8080.
	Addr string
	// DataDir holds the SQLite database (unless Store is set), the admin token and the
	// recordings; default ./duet-data.
	DataDir string
	// Store is where everything durable lives. nil opens the embedded SQLite store at
	// DataDir/duet.db, which the server then closes on Shutdown; a Store given here stays
	// open (it is the caller's to close).
	Store store.Backend
	// PublicURL is the URL clients use to reach this server; default http://Addr.
	PublicURL string
	// RingTimeout ends an unanswered call with NoResponse; default 45 s.
	RingTimeout time.Duration
	// ReconnectGrace is how long a call survives a party's lost connection; default 30 s.
	ReconnectGrace time.Duration
	// AdminToken authorises the admin API; "" reads DataDir/admin-token or creates it.
	AdminToken string
	// DemoApp is the app created on first start, in open registration mode; default
	// "demo#duet". Set NoDemoApp to skip it.
	DemoApp   string
	NoDemoApp bool
	// ICEIPFilter, if set, restricts the addresses the server's own media endpoints use
	// (TURN and the media relay, later issues).
	ICEIPFilter func(net.IP) bool
	// MediaLoopbackOnly restricts the media relay's ICE to UDP over 127.0.0.0/8 (tests, and
	// hosts whose other interfaces must not be used); ICEIPFilter narrows it further.
	MediaLoopbackOnly bool
	// RelayPortMin and RelayPortMax, if both set, bound the UDP ports of the media relay.
	RelayPortMin, RelayPortMax uint16
	// RelayReaders is how many sockets (SO_REUSEPORT) and forwarding goroutines the relay
	// has per address; default 1 (see relay.Config.Readers).
	RelayReaders int
	// RelayPublicIPs, if set, are the addresses the relay announces (a server behind 1:1 NAT).
	RelayPublicIPs []string
	// RecordingsDir holds recorded calls; default DataDir/recordings.
	RecordingsDir string
	// RecordingRetention is how long recordings are kept after they end; default 30 days.
	RecordingRetention time.Duration
	// FFmpeg is the ffmpeg used for merged recordings: "" finds it in PATH, "none" turns
	// merging off (merged recordings then have status merge_unavailable).
	FFmpeg string
	// TURN configures the embedded TURN server; TURN.Addr "" leaves it off. Its secret
	// defaults to the one in DataDir/turn-secret (made on first start); its logger, clock
	// and metrics are the server's.
	TURN turn.Config
	// OutboundTLS configures the server's outbound HTTPS: push providers and webhooks. nil
	// uses the system's roots; tests set RootCAs to trust their local servers.
	OutboundTLS *tls.Config
	// QualityRetention is how long the quality samples of calls are kept; default 30 days.
	QualityRetention time.Duration
	// MessageRetention is how long text messages are kept, delivered or not; default 7 days.
	MessageRetention time.Duration
	// WebhookMinBackoff and WebhookMaxBackoff bound the waits between attempts of a webhook
	// delivery (defaults 1 s and 10 min); after WebhookMaxAttempts (default 12) it is a dead
	// letter.
	WebhookMinBackoff, WebhookMaxBackoff time.Duration
	WebhookMaxAttempts                   int
	// DeviceRateLimit is how many messages per second one device connection may send
	// (default: the hub's, 50/s with bursts); negative turns the limit off (benchmarks).
	DeviceRateLimit float64
	// MaxDevicesPerUser is how many devices one user may have connected at once (phones,
	// tablets, browsers); the hello of one more is refused with code 913. Default 10;
	// negative: no limit (then a callee with many devices can overflow a caller's queue).
	MaxDevicesPerUser int
	// DrainRetryAfter is how long Shutdown asks devices to wait before they reconnect
	// (goodbye.retryAfter, and Retry-After on upgrades refused during the drain): about how
	// long a restart or deploy takes. Default 1 s, at most 60 s; negative sends goodbye
	// without retryAfter, so that devices reconnect with their own backoff.
	DrainRetryAfter time.Duration
	// ReadHeaderTimeout, ReadTimeout, WriteTimeout and IdleTimeout bound each HTTP
	// connection (see http.Server): defaults 10 s for the request line and headers, 60 s
	// for a whole request (bodies are at most 64 KiB: a phone on a poor 2G link sends that
	// in about 30 s), 60 s for a response (recording downloads get 60 s per write instead)
	// and 90 s for a keep-alive connection between requests. A WebSocket is freed from
	// them once upgraded: its hello has signal's HelloTimeout, then the heartbeat.
	ReadHeaderTimeout, ReadTimeout, WriteTimeout, IdleTimeout time.Duration
	// MaxPendingConnsPerAddr bounds the connections one source address may hold before they
	// authenticate (REST keep-alives, WebSockets before their hello is accepted); more are
	// answered 503 and closed. Default 64; negative turns the bound off. Addresses of
	// TrustedProxies are not bounded.
	MaxPendingConnsPerAddr int
	// SignupBurst is how many users one address may register at once without the app token
	// (each costs a password hash); after that one every 10 s. Default 30; negative: no
	// bound (benchmarks that register many users from one address).
	SignupBurst int
	// SecretKey encrypts the secrets the store must keep readable (webhook secrets, push
	// credentials, a cluster's shared settings); "" uses DataDir/secret-key, made on first
	// start. The nodes of a cluster must all be given the same key: New refuses to start a
	// node without one.
	SecretKey string
	// MetricsToken, if set, must come as "Authorization: Bearer <token>" on /metrics (401
	// otherwise); "" leaves /metrics open, for a scraper on a private network.
	MetricsToken string
	// TrustedProxies are reverse proxies whose X-Forwarded-For names the client, for the
	// per-address limits (connections, login and registration throttling).
	TrustedProxies limit.Proxies
	// Cluster, when its NATS list is set, makes this server one node of a cluster: calls are
	// decided by the owner of their app's partition, devices may connect to any node. It
	// needs the PostgreSQL store (Store, and Cluster.DatabaseURL for its leases).
	Cluster ClusterConfig
	// AllowedOrigins are the origins whose pages may use the browser SDK and the client REST
	// API (CORS), besides the server's own and PublicURL's; "*" allows any (New warns).
	AllowedOrigins []string
	// WebPushAllow lists networks that Web Push endpoints may be in besides public
	// addresses (a push service on a private network; tests on loopback). A subscription's
	// endpoint is chosen by the client, so by default the server POSTs only to public ones.
	WebPushAllow []netip.Prefix
	// Clock drives every timer; default the wall clock. Tests pass a clock.Fake.
	Clock clock.Clock
	// Logger receives the server log; default slog.Default().
	Logger *slog.Logger
}

func (c *Config) setDefaults() {
	if c.Addr == "" {
		c.Addr = "127.0.0.1:8080"
	}
	if c.DataDir == "" {
		c.DataDir = "./duet-data"
	}
	if c.PublicURL == "" {
		c.PublicURL = "http://" + c.Addr
	}
	if c.RingTimeout == 0 {
		c.RingTimeout = 45 * time.Second
	}
	if c.ReconnectGrace == 0 {
		c.ReconnectGrace = 30 * time.Second
	}
	if c.DemoApp == "" {
		c.DemoApp = "demo#duet"
	}
	c.setConnDefaults()
	if c.MaxDevicesPerUser == 0 {
		c.MaxDevicesPerUser = DefaultMaxDevicesPerUser
	}
	if c.Clock == nil {
		c.Clock = clock.Real{}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Defaults of the connection limits.
const (
	DefaultMaxDevicesPerUser      = 10
	DefaultReadHeaderTimeout      = 10 * time.Second
	DefaultReadTimeout            = 60 * time.Second
	DefaultWriteTimeout           = 60 * time.Second
	DefaultIdleTimeout            = 90 * time.Second
	DefaultMaxPendingConnsPerAddr = 64
)

func (c *Config) setConnDefaults() {
	c.ReadHeaderTimeout = orDefault(c.ReadHeaderTimeout, DefaultReadHeaderTimeout)
	c.ReadTimeout = orDefault(c.ReadTimeout, DefaultReadTimeout)
	c.WriteTimeout = orDefault(c.WriteTimeout, DefaultWriteTimeout)
	c.IdleTimeout = orDefault(c.IdleTimeout, DefaultIdleTimeout)
	if c.MaxPendingConnsPerAddr == 0 {
		c.MaxPendingConnsPerAddr = DefaultMaxPendingConnsPerAddr
	}
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// ClusterConfig makes a server a node of a cluster (docs/ARCHITECTURE.md, "Cluster").
type ClusterConfig struct {
	// NATS lists the URLs of the cluster's NATS servers; empty runs a single node.
	NATS []string
	// NodeID names this node: unique in the cluster and stable across its restarts.
	NodeID string
	// DatabaseURL is the PostgreSQL store's URL: partitions are owned through advisory
	// locks held on a session of their own.
	DatabaseURL string
	// Partitions is how many partitions the apps are spread over; every node must use the
	// same (default 16).
	Partitions int
	// Heartbeat and NodeTimeout: how often a node says it is alive, and how long it may be
	// silent before the others take it for gone (defaults 500 ms and 3 s).
	Heartbeat, NodeTimeout time.Duration
}

// clustered reports whether the server runs as a node of a cluster.
func (c *Config) clustered() bool { return len(c.Cluster.NATS) > 0 }
