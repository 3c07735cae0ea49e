package signal

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the hub's prometheus collectors:
//
//	duet_connections                  gauge    open device WebSockets, authenticated or not
//	duet_logins_total                 counter  successful hellos
//	duet_login_failures_total         counter  refused hellos (bad frame, version, token, timeout)
//	duet_protocol_errors_total{kind}  counter  bad_frame, rate_limited, frame_too_big
//	duet_messages_total{direction}    counter  frames received (in) and written (out)
//	duet_disconnects_total{reason}    counter  why connections ended
type metrics struct {
	connections   prometheus.Gauge
	logins        prometheus.Counter
	loginFailures prometheus.Counter

	badFrames   prometheus.Counter
	rateLimited prometheus.Counter
	tooBig      prometheus.Counter

	messagesIn  prometheus.Counter
	messagesOut prometheus.Counter

	disconnects *prometheus.CounterVec
}

// Disconnect reasons, the values of duet_disconnects_total's reason label.
const (
	dropClient    = "client"        // the device closed or its socket failed
	dropHello     = "hello"         // the hello was refused or never came
	dropHeartbeat = "heartbeat"     // the device went silent
	dropSlow      = "slow_consumer" // the send queue overflowed
	dropReplaced  = "replaced"      // a newer connection took the device id
	dropKicked    = "kicked"        // Hub.Kick
	dropPolicy    = "policy"        // too many bad frames, rate limit abuse, frame too big
	dropShutdown  = "shutdown"      // Hub.Shutdown
	dropInternal  = "internal"      // a panic, recovered
)

func newMetrics(reg prometheus.Registerer) *metrics {
	protocolErrors := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "duet_protocol_errors_total",
		Help: "Frames from devices refused by the signalling hub, by kind.",
	}, []string{"kind"})
	messages := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "duet_messages_total",
		Help: "Signalling frames received from (in) and written to (out) devices.",
	}, []string{"direction"})
	m := &metrics{
		connections: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "duet_connections",
			Help: "Open device WebSocket connections, authenticated or not.",
		}),
		logins: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "duet_logins_total",
			Help: "Devices that authenticated with hello.",
		}),
		loginFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "duet_login_failures_total",
			Help: "Connections whose hello was refused or never came.",
		}),
		disconnects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "duet_disconnects_total",
			Help: "Device connections that ended, by reason.",
		}, []string{"reason"}),
	}
	if reg != nil {
		m.connections = register(reg, m.connections)
		m.logins = register(reg, m.logins)
		m.loginFailures = register(reg, m.loginFailures)
		protocolErrors = register(reg, protocolErrors)
		messages = register(reg, messages)
		m.disconnects = register(reg, m.disconnects)
	}
	m.badFrames = protocolErrors.WithLabelValues("bad_frame")
	m.rateLimited = protocolErrors.WithLabelValues("rate_limited")
	m.tooBig = protocolErrors.WithLabelValues("frame_too_big")
	m.messagesIn = messages.WithLabelValues("in")
	m.messagesOut = messages.WithLabelValues("out")
	return m
}

// register registers c on reg, or returns the collector already registered under its name,
// so that two hubs (or a hub made again in a test) can share one registry.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
		// A clash with a collector of another shape: keep ours, unregistered.
	}
	return c
}
