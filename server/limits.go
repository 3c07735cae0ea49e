package server

import (
	"cmp"
	"crypto/sha256"
	"crypto/subtle"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/duet-rtc/duet/server/api"
	"github.com/duet-rtc/duet/server/limit"
	"github.com/duet-rtc/duet/server/signal"
)

// newHTTPServer makes the node's http.Server with every connection timeout set, so that a
// client that sends slowly, or goes quiet on a keep-alive connection, cannot hold a socket
// (and a file descriptor) for ever. Hijacked WebSockets drop these deadlines; the hub has
// its own.
func (s *Server) newHTTPServer() *http.Server {
	return &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: s.cfg.ReadHeaderTimeout,
		ReadTimeout:       s.cfg.ReadTimeout,
		WriteTimeout:      s.cfg.WriteTimeout,
		IdleTimeout:       s.cfg.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
	}
}

// limitListener bounds the unauthenticated connections per source address (see
// Config.MaxPendingConnsPerAddr); the hub frees a WebSocket's slot once its hello is accepted.
func (s *Server) limitListener(ln net.Listener) net.Listener {
	if s.cfg.MaxPendingConnsPerAddr < 0 {
		return ln
	}
	l := limit.NewListener(ln, s.cfg.MaxPendingConnsPerAddr, s.cfg.TrustedProxies.Trusted)
	refused := prometheus.NewCounter(prometheus.CounterOpts{
		Name: "duet_connections_refused_total",
		Help: "Connections refused because their source address held too many unauthenticated ones.",
	})
	if err := s.registry.Register(refused); err != nil {
		if are, ok := err.(prometheus.AlreadyRegisteredError); ok {
			refused = are.ExistingCollector.(prometheus.Counter)
		}
	}
	l.OnRefuse = refused.Inc
	return l
}

// Login and registration throttling (docs/REST.md, "Limits"). An address gets 30 failed
// logins free, an account 5; after that each failure doubles the wait before the next
// attempt, from 1 s up to a minute, so that guessing costs an attacker about one try a
// minute per account and per address, while a locked-out user waits at most a minute after
// the attacker's last guess. Both forget a key after 15 quiet minutes.
var (
	accountBackoff = limit.BackoffConfig{Free: 5, Base: time.Second, Max: time.Minute, Forget: 15 * time.Minute}
	sourceBackoff  = limit.BackoffConfig{Free: 30, Base: time.Second, Max: time.Minute, Forget: 15 * time.Minute}
)

// knownFor is how long an address that logged in to an account skips that account's backoff
// (its own still applies): the owner's usual address is not locked out by guesses from
// elsewhere.
const knownFor = 30 * 24 * time.Hour

// Registrations without the app token: Config.SignupBurst users at once per address (30 by
// default), then one every 10 s.
const (
	defaultSignupBurst = 30
	signupRate         = 0.1
)

// apiLimits makes the REST API's throttles on the server's clock.
func (s *Server) apiLimits() api.Limits {
	throttled := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "duet_throttled_total",
		Help: "REST requests refused with 429 by a limit: login_address, login_account or signup.",
	}, []string{"limit"})
	s.registry.MustRegister(throttled)
	l := api.Limits{
		Accounts:   limit.NewBackoff(accountBackoff, s.cfg.Clock),
		Sources:    limit.NewBackoff(sourceBackoff, s.cfg.Clock),
		Known:      limit.NewSeen(knownFor, 100_000, s.cfg.Clock),
		ClientAddr: s.cfg.TrustedProxies.ClientAddr,
		OnThrottle: func(limit string) { throttled.WithLabelValues(limit).Inc() },
	}
	if burst := cmp.Or(s.cfg.SignupBurst, defaultSignupBurst); burst > 0 {
		l.Signups = limit.NewBuckets(signupRate, burst, s.cfg.Clock)
	}
	return l
}

// sendQueueFor sizes a device's send queue for a user device limit: an invite puts its reply
// and one call.ringing per callee device in the caller's queue at once, and each of those
// devices then answers the caller's offer and trickles its candidates, so the queue leaves
// four frames per possible callee device on top of the hub's default.
func sendQueueFor(maxDevices int) int {
	if maxDevices <= 0 {
		return 0 // the hub's default
	}
	return signal.DefaultSendQueue + 4*maxDevices
}

// guardMetrics requires Config.MetricsToken on /metrics when it is set: the metrics tell
// how many devices and calls the server has, which is nobody else's business.
func (s *Server) guardMetrics(h http.Handler) http.Handler {
	if s.cfg.MetricsToken == "" {
		return h
	}
	want := sha256.Sum256([]byte("Bearer " + s.cfg.MetricsToken))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := sha256.Sum256([]byte(r.Header.Get("Authorization")))
		if subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="metrics"`)
			http.Error(w, "metrics token required", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}
