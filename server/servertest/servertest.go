// Package servertest starts a real duet server in-process on a loopback port, with its
// data in a temporary folder, for tests of the SDK, the CLI and the server itself.
package servertest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/duet-rtc/duet/internal/clock"
	"github.com/duet-rtc/duet/server"
	"github.com/duet-rtc/duet/server/turn"
)

// Server is a running test server.
type Server struct {
	*server.Server
	// URL is the base URL, http://127.0.0.1:PORT.
	URL string
	// AppKey is the demo app's key.
	AppKey string
	// Config is the configuration the server was started with (Restart reuses it).
	Config server.Config

	t      testing.TB
	ln     net.Listener
	served chan error
	closed bool
}

// Option changes the configuration before start.
type Option func(*server.Config)

// Start starts a server and stops it when the test ends.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	cfg := server.Config{DataDir: t.TempDir(), Logger: slog.New(slog.DiscardHandler), MediaLoopbackOnly: true}
	for _, o := range opts {
		o(&cfg)
	}
	s := &Server{t: t, Config: cfg}
	s.start("127.0.0.1:0")
	t.Cleanup(s.Stop)
	return s
}

func (s *Server) start(addr string) {
	s.t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		s.t.Fatalf("listen: %v", err)
	}
	cfg := s.Config
	cfg.Addr = ln.Addr().String()
	cfg.PublicURL = "http://" + cfg.Addr
	srv, err := server.New(context.Background(), cfg)
	if err != nil {
		ln.Close()
		s.t.Fatalf("server.New: %v", err)
	}
	app, _ := srv.DemoApp()
	s.Server, s.ln, s.URL, s.AppKey, s.closed = srv, ln, cfg.PublicURL, app.Key, false
	s.served = make(chan error, 1)
	go func() { s.served <- srv.Serve(ln) }()
}

// Stop shuts the server down gracefully (idempotent).
func (s *Server) Stop() {
	if s.closed {
		return
	}
	s.closed = true
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		s.t.Errorf("shutdown: %v", err)
	}
	if err := <-s.served; err != nil {
		s.t.Errorf("serve: %v", err)
	}
}

// Restart stops the server and starts a new one on the same address and data folder.
func (s *Server) Restart() { s.RestartAfter(nil) }

// RestartAfter stops the server, runs down (if not nil) while it is down, and starts a new
// one on the same address and data folder.
func (s *Server) RestartAfter(down func()) {
	s.t.Helper()
	addr := s.ln.Addr().String()
	s.Stop()
	if down != nil {
		down()
	}
	s.start(addr)
}

// AddUser creates a user in the demo app, through the admin API: unlike a registration it
// is not throttled per address, so tests may add as many users as they need.
func (s *Server) AddUser(username, password string) {
	s.t.Helper()
	body, _ := json.Marshal(map[string]string{"username": username, "password": password})
	status, reply := s.Do(http.MethodPost, "/admin/v1/apps/"+strings.Replace(s.AppKey, "#", "/", 1)+"/users", s.AdminToken(), body)
	if status != http.StatusOK {
		s.t.Fatalf("register %s: HTTP %d %s", username, status, reply)
	}
}

// Do sends a REST request and returns the status and body.
func (s *Server) Do(method, path, token string, body []byte) (int, []byte) {
	s.t.Helper()
	req, err := http.NewRequest(method, s.URL+path, bytes.NewReader(body))
	if err != nil {
		s.t.Fatalf("request: %v", err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// WithClock drives the server's timers (ring timeout, reconnect grace, heartbeat) with c.
func WithClock(c clock.Clock) Option { return func(cfg *server.Config) { cfg.Clock = c } }

// WithTURN starts the embedded TURN server on a free loopback port (UDP and TCP), relaying
// on 127.0.0.1 between loopback peers only, so that calls can be forced through it.
func WithTURN(mod ...func(*turn.Config)) Option {
	return func(cfg *server.Config) {
		cfg.TURN = turn.Config{
			Addr:         "127.0.0.1:0",
			Peers:        turn.PeerPolicy{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}},
			UDPListeners: 1,
		}
		for _, m := range mod {
			m(&cfg.TURN)
		}
	}
}

// WithRingTimeout sets the ring timeout.
func WithRingTimeout(d time.Duration) Option { return func(cfg *server.Config) { cfg.RingTimeout = d } }
