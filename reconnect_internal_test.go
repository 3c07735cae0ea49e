package duet

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/duet-rtc/duet/internal/clock"
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
		o := Options{AppKey: "a#b", ServerURL: srv.URL}
		if err := o.normalize(); err != nil {
			t.Fatal(err)
		}
		_, err := dialDevice(context.Background(), &o, "tok", nil, slog.New(slog.DiscardHandler), nil)
		srv.Close()
		after, ok := retryAfterOf(err)
		if after != tc.after || ok != tc.ok || isAuthError(err) || ErrorCodeOf(err) != protocol.CodeServerBusy {
			t.Errorf("Retry-After %q: %v (code %d), after %v %v; want %v %v", tc.header, err, ErrorCodeOf(err), after, ok, tc.after, tc.ok)
		}
	}
}

// The spread added to a retry-after is under half of it and under a second.
func TestWithSpread(t *testing.T) {
	for _, d := range []time.Duration{0, time.Millisecond, time.Second, 10 * time.Second} {
		for range 200 {
			got := withSpread(d)
			if got < d || got-d >= max(min(d/2, maxSpread), 1) {
				t.Fatalf("withSpread(%v) = %v", d, got)
			}
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
		c := &deviceConn{log: slog.New(slog.NewTextHandler(io.Discard, nil)), after: -1}
		c.onGoodbye(&protocol.Envelope{Type: protocol.TypeGoodbye, Data: []byte(body)})
		got, ok := c.retryAfter()
		if got != want || ok != (want >= 0) {
			t.Errorf("goodbye %s: retryAfter %v %v, want %v", body, got, ok, want)
		}
	}
}

// drainingServer plays a server that drains: it welcomes the first device connection and
// says goodbye with retryAfter 1000 on it; the next upgrade gets 503 with Retry-After 2, and
// the one after is welcomed again.
type drainingServer struct {
	*httptest.Server
	upgrades chan int // the number of each upgrade attempt, as it comes
	n        atomic.Int32
}

func newDrainingServer(t *testing.T) *drainingServer {
	d := &drainingServer{upgrades: make(chan int, 16)}
	d.Server = httptest.NewServer(http.HandlerFunc(d.serve))
	t.Cleanup(d.Close)
	return d
}

func (d *drainingServer) serve(w http.ResponseWriter, r *http.Request) {
	n := int(d.n.Add(1))
	d.upgrades <- n
	if n == 2 {
		w.Header().Set("Retry-After", "2")
		http.Error(w, "server restarting", http.StatusServiceUnavailable)
		return
	}
	ws, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	defer ws.CloseNow()
	ctx := r.Context()
	_, b, err := ws.Read(ctx)
	if err != nil {
		return
	}
	hello, _ := protocol.DecodeEnvelope(b)
	welcome := protocol.NewReply(hello.ID, protocol.Welcome{Version: 1, AppKey: "a#b", Username: "alice", DeviceID: "d", PingInterval: 30})
	writeEnvelope(ctx, ws, welcome)
	if n == 1 {
		writeEnvelope(ctx, ws, protocol.NewMessage(protocol.TypeGoodbye, "", protocol.Goodbye{Reason: protocol.GoodbyeRestart, RetryAfter: 1000}))
		ws.Close(websocket.StatusGoingAway, "server shutdown")
		return
	}
	for {
		if _, _, err := ws.Read(ctx); err != nil {
			return
		}
	}
}

// The supervisor waits the goodbye's retry-after on the client's clock, then a 503's
// Retry-After, and never gives up the login for either.
func TestSupervisorWaitsRetryAfter(t *testing.T) {
	srv := newDrainingServer(t)
	c, err := NewClient(Options{AppKey: "a#b", ServerURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	clk := clock.NewFake(time.Now())
	c.clk = clk
	if err := c.LoginWithToken(context.Background(), "alice", "tok"); err != nil {
		t.Fatal(err)
	}
	expectUpgrade(t, srv, 1)
	waitTimer(t, clk) // the goodbye's 1 s (+ up to 0.5 s)
	clk.Advance(999 * time.Millisecond)
	if clk.Pending() == 0 {
		t.Fatal("reconnected before the goodbye's retry-after")
	}
	clk.Advance(500 * time.Millisecond)
	expectUpgrade(t, srv, 2) // 503, Retry-After 2
	waitTimer(t, clk)
	clk.Advance(1999 * time.Millisecond)
	if clk.Pending() == 0 {
		t.Fatal("redialled before the 503's Retry-After")
	}
	clk.Advance(time.Second) // the spread is under a second
	expectUpgrade(t, srv, 3)
	deadline := time.Now().Add(10 * time.Second)
	for !c.IsConnected() {
		if time.Now().After(deadline) || c.CurrentUsername() == "" {
			t.Fatalf("not connected again (user %q)", c.CurrentUsername())
		}
		time.Sleep(time.Millisecond)
	}
}

func expectUpgrade(t *testing.T, srv *drainingServer, n int) {
	t.Helper()
	select {
	case got := <-srv.upgrades:
		if got != n {
			t.Fatalf("upgrade %d, want %d", got, n)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("no upgrade %d", n)
	}
}

// waitTimer waits, bounded, until the supervisor has armed its wait on clk.
func waitTimer(t *testing.T, clk *clock.Fake) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for clk.Pending() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the supervisor armed no timer")
		}
		time.Sleep(time.Millisecond)
	}
}
