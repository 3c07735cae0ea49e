package duet

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/duet-rtc/duet/internal/clock"
	"github.com/duet-rtc/duet/protocol"
)

// Clock tells the time and runs functions later: Options.Clock. Its AfterFunc calls f on
// a goroutine of its own choosing, once, after d, unless the Timer is stopped first.
type Clock = clock.Clock

// Timer is a pending Clock.AfterFunc.
type Timer = clock.Timer

// Options configure a Client, like EMOptions in the seed.
type Options struct {
	// AppKey is "org#app", as issued by the server (required).
	AppKey string
	// ServerURL is the base URL of the duet server's REST API, e.g. "http://127.0.0.1:8080"
	// (required). It names the private deployment, the seed's "私有部署". A cluster is
	// given as a comma-separated list of its nodes' URLs: the client starts at a random one
	// and, when its node goes away (connection lost, goodbye, 503, refused connect), moves
	// to the next in the list, with its usual backoff.
	ServerURL string
	// WebSocketURL is the device connection endpoint; default ServerURL with ws(s) and /ws
	// (with several nodes: a list as long as ServerURL's, or empty).
	WebSocketURL string
	// DeviceID identifies this device among the user's devices; default a random id per
	// Client. A second login with the same device id replaces the first.
	DeviceID string
	// EnableConsoleLog also writes the SDK log to standard error.
	EnableConsoleLog bool
	// LogDir is where the rotating SDK log file (duet.log) is written; "" means no file.
	LogDir string
	// LogLevel is "debug", "info" (default), "warn" or "error".
	LogLevel string
	// PingInterval is the heartbeat interval; default 30 s, minimum 10 s. The server drops a
	// device silent for 2.5 intervals.
	PingInterval time.Duration
	// AutoReconnect reconnects with jittered exponential backoff after a lost connection, and
	// after the server's retry-after (plus a small random spread) when the server drains for
	// a restart; the calls stay live across either (default on; set DisableAutoReconnect to
	// turn it off).
	DisableAutoReconnect bool
	// HTTPClient is used for REST calls; default a client with a 15 s timeout.
	HTTPClient *http.Client
	// ICE restricts media candidates; see ICEOptions.
	ICE ICEOptions
	// Capabilities this device announces; default audio and video.
	NoVideo bool
	// Logger, if set, receives the SDK's log instead of the one LogDir, EnableConsoleLog and
	// LogLevel describe (an app that has its own logging passes a child of its logger).
	Logger *slog.Logger
	// Clock drives the SDK's own timers: the heartbeat, the reconnect backoff and the
	// server's retry-after, the call timers (remote-close wait) and the quality stats.
	// Default the wall clock; tests pass a fake one to run them without waiting.
	Clock Clock

	// nodes are ServerURL's nodes, parsed.
	nodes []node
	// versions are the protocol versions the SDK offers in hello, oldest first; tests set
	// them to play an older or newer SDK.
	versions []int
}

// ICEOptions restrict which network paths calls may use.
type ICEOptions struct {
	// LoopbackOnly restricts ICE to 127.0.0.0/8 over UDP4 (tests, and machines whose other
	// interfaces must not be used).
	LoopbackOnly bool
	// IPFilter, if set, keeps only local addresses for which it returns true.
	IPFilter func(net.IP) bool
	// RelayOnly forces media through TURN (ICE transport policy "relay").
	RelayOnly bool
}

const (
	defaultPingInterval = 30 * time.Second
	minPingInterval     = 10 * time.Second
)

func (o *Options) normalize() error {
	if strings.Count(o.AppKey, "#") != 1 || strings.HasPrefix(o.AppKey, "#") || strings.HasSuffix(o.AppKey, "#") {
		return &Error{Code: ErrorInvalidAppKey, Message: fmt.Sprintf("appkey %q is not org#app", o.AppKey)}
	}
	nodes, err := parseNodes(o.ServerURL, o.WebSocketURL)
	if err != nil {
		return err
	}
	o.nodes = nodes
	o.ServerURL, o.WebSocketURL = joinNodes(nodes)
	if o.DeviceID == "" {
		b := make([]byte, 8)
		_, _ = rand.Read(b)
		o.DeviceID = "go-" + hex.EncodeToString(b)
	}
	switch {
	case o.PingInterval == 0:
		o.PingInterval = defaultPingInterval
	case o.PingInterval < minPingInterval:
		return &Error{Code: ErrorGeneral, Message: fmt.Sprintf("ping interval %v is below the minimum %v", o.PingInterval, minPingInterval)}
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 15 * time.Second}
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if len(o.versions) == 0 {
		for v := protocol.MinVersion; v <= protocol.Version; v++ {
			o.versions = append(o.versions, v)
		}
	}
	return nil
}

func (o *Options) appPath() string {
	org, app, _ := strings.Cut(o.AppKey, "#")
	return "/" + url.PathEscape(org) + "/" + url.PathEscape(app)
}
