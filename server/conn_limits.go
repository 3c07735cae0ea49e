package server

import (
	"net"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/duet-rtc/duet/server/limit"
)

// newHTTPServer makes the node's http.Server with every connection timeout set, so that a
// client that sends slowly, or goes quiet on a keep-alive connection, cannot hold a socket
// (and a file descriptor) for ever. Hijacked WebSockets drop these deadlines; the hub has
// its own.
func (s *Server) newHTTPServer() *http.Server {
	return &http.Server{
		Handler:           s.mux,
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
