package duet

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/duet-rtc/duet/internal/clock"
	"github.com/duet-rtc/duet/protocol"
)

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
	// The goodbye's wait: 1 s plus a spread of at most 0.5 s. Other timers (a dial's, the
	// heartbeat's) come and go on the same clock: wait for this one.
	waitTimerIn(t, clk, time.Second, 1500*time.Millisecond)
	clk.Advance(1500 * time.Millisecond)
	expectUpgrade(t, srv, 2) // 503, Retry-After 2
	// The 503's wait: 2 s plus at most 1 s; nothing shorter.
	waitTimerIn(t, clk, 2*time.Second, 3*time.Second)
	clk.Advance(1999 * time.Millisecond)
	if !clk.PendingIn(time.Millisecond, time.Second+time.Millisecond) {
		t.Fatal("the 503's wait ended before its Retry-After") // the supervisor waits one wait at a time
	}
	clk.Advance(time.Second + time.Millisecond) // the spread is under a second
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

// waitTimerIn waits, bounded, until the supervisor has armed a wait due between lo and hi
// from now on clk.
func waitTimerIn(t *testing.T, clk *clock.Fake, lo, hi time.Duration) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !clk.PendingIn(lo, hi) {
		if time.Now().After(deadline) {
			t.Fatalf("the supervisor armed no wait of %v to %v", lo, hi)
		}
		time.Sleep(time.Millisecond)
	}
}

// writeEnvelope writes env on ws, as a server does.
func writeEnvelope(ctx context.Context, ws *websocket.Conn, env *protocol.Envelope) {
	b, err := env.Encode()
	if err == nil {
		_ = ws.Write(ctx, websocket.MessageText, b)
	}
}
