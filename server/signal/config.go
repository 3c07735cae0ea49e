package signal

import (
	"log/slog"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/duet-rtc/duet/internal/clock"
	"github.com/duet-rtc/duet/protocol"
)

// Defaults for the zero fields of Config.
const (
	DefaultPingInterval    = 30 * time.Second
	DefaultMaxPingInterval = 5 * time.Minute
	DefaultSendQueue       = 64
	DefaultRateLimit       = 50
	DefaultRateBurst       = 100
	DefaultMaxBadFrames    = 10
	DefaultHelloTimeout    = 10 * time.Second
	DefaultWriteTimeout    = 10 * time.Second
	DefaultCloseTimeout    = 2 * time.Second
	DefaultDrainRetryAfter = time.Second
)

// MinPingInterval is the shortest heartbeat interval a device may ask for (protocol.Hello
// refuses less).
const MinPingInterval = 10 * time.Second

// HeartbeatFactor times a device's ping interval is how long it may stay silent before the
// hub drops it: 2.5 lets one ping go missing, and the next arrive late.
const HeartbeatFactor = 2.5

// Config tunes a Hub. The zero value is usable: every zero field takes its default.
type Config struct {
	// PingInterval is the heartbeat interval of a device whose hello names none.
	PingInterval time.Duration
	// Boot names this run of the server in every welcome (protocol.Welcome.Boot).
	Boot string
	// MaxPingInterval caps the interval a device may ask for; Welcome tells it the one it got.
	MaxPingInterval time.Duration
	// SendQueue is how many frames may wait for one device. A device that lets more pile up
	// is a slow consumer: the hub drops its connection rather than buffer without bound.
	SendQueue int
	// MaxDevices is how many devices one user may have connected at once; the hello of one
	// more is refused with CodeTooManyDevices (a device replacing its own connection always
	// gets in). 0 or less: no limit. Each connected device of a callee costs the caller one
	// call.ringing frame per call, so SendQueue must leave room for MaxDevices of them (the
	// server sizes it so).
	MaxDevices int
	// DevicesElsewhere, if set, counts the user's devices connected to other servers (the
	// other nodes of a cluster), device id excepted, so that MaxDevices holds for the whole
	// cluster rather than per node. Two hellos on two nodes at once may both get in.
	DevicesElsewhere func(app, user, id string) int
	// RateLimit is how many frames per second one connection may send, sustained (a token
	// bucket of RateBurst tokens). A frame over the limit is answered with CodeRateLimited; a
	// connection that goes on past RateBurst refused frames without pausing long enough to
	// refill the bucket is closed (1008). A negative RateLimit turns the limit off.
	RateLimit float64
	// RateBurst is how many frames a connection may send at once.
	RateBurst int
	// MaxBadFrames is how many malformed frames a connection may send; one more closes it.
	MaxBadFrames int
	// HelloTimeout is how long a new connection has to authenticate with hello. It also
	// bounds the Authenticator call.
	HelloTimeout time.Duration
	// WriteTimeout bounds the writing of one batch of queued frames to a device.
	WriteTimeout time.Duration
	// CloseTimeout is how long a connection the hub closes has to finish the close handshake
	// before its socket is cut.
	CloseTimeout time.Duration
	// DrainRetryAfter is how long Shutdown asks devices to stay away before they reconnect:
	// goodbye's retryAfter, and the Retry-After header of upgrades refused meanwhile. It is
	// about how long a restart takes, so that devices come back when the next server is up
	// rather than hammer the address while it is down. Capped at
	// protocol.MaxRetryAfterMillis; negative sends goodbye without retryAfter (devices then
	// reconnect with their failure backoff, as before the field existed).
	DrainRetryAfter time.Duration
	// OriginPatterns lists the browser origins allowed to connect (see
	// websocket.AcceptOptions). Empty allows every origin: devices authenticate with a token
	// in hello, never with cookies, so a foreign page gains nothing from the browser's
	// credentials.
	OriginPatterns []string
	// MinVersion and MaxVersion bound the protocol versions the hub speaks; default
	// protocol.MinVersion and protocol.Version. A hello offering only older versions is
	// refused with CodeUpgradeRequired.
	MinVersion, MaxVersion int
	// Clock drives the hello timeout, the heartbeat, the rate limit and the close timeout.
	// Default clock.Real.
	Clock clock.Clock
	// Logger receives connection events (debug) and failures (warn, error). Default
	// slog.Default().
	Logger *slog.Logger
	// Metrics, when set, receives the hub's collectors: duet_connections (gauge),
	// duet_logins_total, duet_login_failures_total, duet_protocol_errors_total{kind},
	// duet_messages_total{direction} and duet_disconnects_total{reason}. Collectors already
	// registered under those names (by another hub) are shared.
	Metrics prometheus.Registerer
}

func (c Config) withDefaults() Config {
	if c.PingInterval <= 0 {
		c.PingInterval = DefaultPingInterval
	}
	c.PingInterval = max(c.PingInterval, MinPingInterval)
	if c.MaxPingInterval <= 0 {
		c.MaxPingInterval = DefaultMaxPingInterval
	}
	c.MaxPingInterval = max(c.MaxPingInterval, c.PingInterval)
	if c.SendQueue <= 0 {
		c.SendQueue = DefaultSendQueue
	}
	if c.RateLimit == 0 {
		c.RateLimit = DefaultRateLimit
	}
	if c.RateBurst <= 0 {
		c.RateBurst = DefaultRateBurst
	}
	if c.MaxBadFrames <= 0 {
		c.MaxBadFrames = DefaultMaxBadFrames
	}
	if c.HelloTimeout <= 0 {
		c.HelloTimeout = DefaultHelloTimeout
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = DefaultWriteTimeout
	}
	if c.CloseTimeout <= 0 {
		c.CloseTimeout = DefaultCloseTimeout
	}
	if c.DrainRetryAfter == 0 {
		c.DrainRetryAfter = DefaultDrainRetryAfter
	}
	c.DrainRetryAfter = min(c.DrainRetryAfter, protocol.MaxRetryAfterMillis*time.Millisecond)
	if c.MinVersion <= 0 {
		c.MinVersion = protocol.MinVersion
	}
	if c.MaxVersion <= 0 {
		c.MaxVersion = protocol.Version
	}
	c.MaxVersion = max(c.MaxVersion, c.MinVersion)
	if c.Clock == nil {
		c.Clock = clock.Real{}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// pingInterval is the interval a device gets for the one it asked for in hello (seconds, 0
// for the default).
func (c *Config) pingInterval(asked int) time.Duration {
	if asked <= 0 {
		return c.PingInterval
	}
	return min(max(time.Duration(asked)*time.Second, MinPingInterval), c.MaxPingInterval)
}

// goodbye is the message Shutdown sends every device.
func (c *Config) goodbye() protocol.Goodbye {
	g := protocol.Goodbye{Reason: protocol.GoodbyeRestart}
	if c.DrainRetryAfter > 0 {
		// At least 1 ms: 0 would mean "no retryAfter" on the wire.
		g.RetryAfter = max(int(c.DrainRetryAfter/time.Millisecond), 1)
	}
	return g
}

// retryAfterHeader is the Retry-After value of an upgrade refused during a drain: whole
// seconds, as HTTP has it, rounded up so that a device is never told to come back early.
// "" when DrainRetryAfter is negative.
func (c *Config) retryAfterHeader() string {
	if c.DrainRetryAfter <= 0 {
		return ""
	}
	return strconv.Itoa(int((c.DrainRetryAfter + time.Second - 1) / time.Second))
}
