package device

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/duet-rtc/duet/protocol"
)

// A 503 with Retry-After (a server that drains) is "come back then", not a failure: the
// dial error carries the wait, is not an auth error, and has the code ServerBusy. A 503
// without a usable Retry-After falls back to the backoff.
func TestDialDuringDrain(t *testing.T) {
	for _, tc := range []struct {
		header string
		after  time.Duration
		ok     bool
	}{
		{"2", 2 * time.Second, true},
		{"", 0, false},
		{"0", 0, false},
		{"61", 0, false},
		{"Fri, 04 Dec 2026 18:00:00 GMT", 0, false},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			if tc.header != "" {
				w.Header().Set("Retry-After", tc.header)
			}
			http.Error(w, "server restarting", http.StatusServiceUnavailable)
		}))
		ws := "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws"
		_, err := Dial(context.Background(), ws, nil, protocol.Hello{Version: 1, Token: "tok", DeviceID: "d"}, slog.New(slog.DiscardHandler), nil)
		srv.Close()
		after, ok := RetryAfterOf(err)
		if after != tc.after || ok != tc.ok || protocol.CodeOf(err) != protocol.CodeServerBusy {
			t.Errorf("Retry-After %q: %v (code %d), after %v %v; want %v %v", tc.header, err, protocol.CodeOf(err), after, ok, tc.after, tc.ok)
		}
	}
}

// A goodbye's retryAfter is kept when valid; a bad one (or none) leaves the backoff.
func TestGoodbyeRetryAfter(t *testing.T) {
	for body, want := range map[string]time.Duration{
		`{"reason":"server restart","retryAfter":1500}`: 1500 * time.Millisecond,
		`{"reason":"server shutdown"}`:                  -1,
		`{"reason":"x","retryAfter":60001}`:             -1,
		`{"reason":"x","retryAfter":-5}`:                -1,
		`{"reason":"x","retryAfter":"soon"}`:            -1,
		`{"reason":"x","retryAfter":1,"later":true}`:    time.Millisecond,
	} {
		c := NewForTest(slog.New(slog.DiscardHandler), nil)
		c.onGoodbye(&protocol.Envelope{Type: protocol.TypeGoodbye, Data: []byte(body)})
		got, ok := c.RetryAfter()
		if got != want || ok != (want >= 0) {
			t.Errorf("goodbye %s: retryAfter %v %v, want %v", body, got, ok, want)
		}
	}
}
