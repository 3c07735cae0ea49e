package duet_test

import (
	"testing"
	"time"

	"github.com/duet-rtc/duet"
	"github.com/duet-rtc/duet/internal/clock"
	"github.com/duet-rtc/duet/internal/leaktest"
	"github.com/duet-rtc/duet/server/servertest"
)

// TestReconnectAfterDrain: a server that drains (Shutdown, as on SIGTERM) says goodbye with
// retryAfter 1 s; the SDKs wait exactly that, plus their spread, on their clock (not the
// failure backoff), reconnect to the server that took the address and data folder over, and
// their answered call goes on: no CallDidEnd, and the server relays between them again.
func TestReconnectAfterDrain(t *testing.T) {
	leaktest.Check(t) // first, so that its check runs after the server's cleanup
	srv := servertest.Start(t)
	clk := clock.NewFake(time.Now())
	alice, recA := onClock(t, srv, "alice", clk)
	bob, recB := onClock(t, srv, "bob", clk)
	out, in := answeredCall(t, alice, recA, bob, recB, "bob")

	srv.Restart() // goodbye{retryAfter: 1000} to both, then a new server on the same address
	for _, r := range []*recorder{recA, recB} {
		r.wait(t, "conn:disconnected")
	}
	// Only the waits of 1 s plus spread count: the call's own timers (quality ticks, the
	// remote-close grace) are armed on the same clock and would satisfy a plain count before
	// a client had armed its wait, which then fell due beyond the advances below.
	waitUntil(t, "both clients to wait for the retry-after", func() bool {
		return clk.CountIn(time.Second, 3*time.Second/2) >= 2
	})
	time.Sleep(300 * time.Millisecond) // asserting an absence: no reconnect on the wall clock
	if alice.IsConnected() || bob.IsConnected() {
		t.Fatal("a client reconnected before the server's retry-after")
	}
	clk.Advance(999 * time.Millisecond)
	if clk.CountIn(time.Millisecond, 501*time.Millisecond) < 2 {
		t.Fatal("a client reconnected before the server's retry-after")
	}
	clk.Advance(501 * time.Millisecond) // the spread is under half the retry-after: all due by 1.5 s
	for _, r := range []*recorder{recA, recB} {
		r.wait(t, "conn:connected")
	}
	proveLive(t, out, recB)
	if recA.has("end") || recB.has("end") || recA.has("tokenExpired") || recB.has("tokenExpired") {
		t.Fatalf("the drain ended something: %v / %v", recA.names(), recB.names())
	}
	if out.Status() != duet.CallStatusAccepted || in.Status() != duet.CallStatusAccepted {
		t.Fatalf("sessions %v %v", out.Status(), in.Status())
	}
	if err := alice.CallManager().EndCall(ctxT(t), out.CallID(), duet.EndReasonHangup); err != nil {
		t.Fatal(err)
	}
	if e := recB.wait(t, "end"); e.reason != duet.EndReasonHangup {
		t.Fatalf("bob's call ended %v", e.reason)
	}
}

// onClock logs username in on srv with its timers on clk.
func onClock(t *testing.T, srv *servertest.Server, username string, clk clock.Clock) (*duet.Client, *recorder) {
	t.Helper()
	c, rec := newLoggedOutClient(t, srv, username)
	duet.SetTestClock(c, clk)
	login(t, c, username)
	return c, rec
}

// waitUntil polls cond, bounded in time, for state the SDK reaches on its own goroutines.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}
