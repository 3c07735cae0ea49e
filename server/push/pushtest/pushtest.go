// Package pushtest runs local stand-ins of the push providers for tests, on 127.0.0.1: an
// HTTP/2 TLS server speaking the APNs provider API (it verifies the provider token JWT),
// an FCM HTTP v1 endpoint with its OAuth 2.0 token endpoint (it verifies the JWT bearer
// assertion), and a receiver for signed webhooks. They are real servers, not mocks of a
// client library: duet's push code talks to them over the network exactly as it talks to
// Apple, Google or an app's own service.
package pushtest

import (
	"crypto/tls"
	"crypto/x509"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// recorder keeps what a server received and lets a test wait for it.
type recorder[T any] struct {
	mu  sync.Mutex
	got []T
	ch  chan T
}

func newRecorder[T any]() *recorder[T] { return &recorder[T]{ch: make(chan T, 1024)} }

func (r *recorder[T]) add(v T) {
	r.mu.Lock()
	r.got = append(r.got, v)
	r.mu.Unlock()
	select {
	case r.ch <- v:
	default:
	}
}

func (r *recorder[T]) all() []T {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]T(nil), r.got...)
}

func (r *recorder[T]) wait(t testing.TB, what string, d time.Duration) T {
	t.Helper()
	select {
	case v := <-r.ch:
		return v
	case <-time.After(d):
		var zero T
		t.Fatalf("pushtest: no %s within %v", what, d)
		return zero
	}
}

// none asserts that nothing more arrives within d.
func (r *recorder[T]) none(t testing.TB, what string, d time.Duration) {
	t.Helper()
	select {
	case v := <-r.ch:
		t.Fatalf("pushtest: unexpected %s: %+v", what, v)
	case <-time.After(d):
	}
}

// TLSConfig trusts the certificate of every httptest TLS server (they share one), so the
// push service can reach these servers: pass it as push.Config.TLS / server.Config.OutboundTLS.
func TLSConfig(s *httptest.Server) *tls.Config {
	pool := x509.NewCertPool()
	pool.AddCert(s.Certificate())
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
}
