package duet_test

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/duet-rtc/duet"
	"github.com/duet-rtc/duet/internal/clock"
	"github.com/duet-rtc/duet/server/signal"
)

// lockedBuffer is a log sink safe for the SDK's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestOptionsClockAndLogger: the SDK logs to Options.Logger, and its reconnect backoff runs
// on Options.Clock: after a lost connection it reconnects when the clock is advanced, not
// before.
func TestOptionsClockAndLogger(t *testing.T) {
	srv := newHubServer(t, signal.Config{})
	var logs lockedBuffer
	clk := clock.NewFake(time.Now())
	c, err := duet.NewClient(duet.Options{AppKey: "org#app", ServerURL: srv.URL, Clock: clk,
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	rec := newRecorder()
	c.AddConnectionDelegate(rec, nil)
	if err := c.LoginWithToken(ctxT(t), "alice", "tok"); err != nil {
		t.Fatal(err)
	}
	rec.wait(t, "conn:connected")
	if !strings.Contains(logs.String(), "logged in") {
		t.Fatalf("Options.Logger got %q", logs.String())
	}

	old := srv.swap(t, signal.Config{})
	_ = old.Shutdown(ctxT(t))
	rec.wait(t, "conn:disconnected")
	// The backoff is a timer on the fake clock: nothing reconnects until the clock moves.
	waitUntil(t, "the backoff timer", func() bool { return clk.Pending() > 0 })
	if c.IsConnected() {
		t.Fatal("reconnected before the clock moved")
	}
	waitUntil(t, "the reconnect", func() bool { clk.Advance(20 * time.Second); return c.IsConnected() })
	rec.wait(t, "conn:connected")
}
