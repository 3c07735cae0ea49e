package server_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/duet-rtc/duet/server"
	"github.com/duet-rtc/duet/server/api"
	"github.com/duet-rtc/duet/server/servertest"
)

// syncBuffer is a bytes.Buffer safe for a logger's concurrent writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestCallLogAndMetrics: a call leaves one info line per invite, accept and end (the end
// with its reason, duration and connect type), and /metrics counts it by type and reason
// with its ring, setup and duration in the histograms.
func TestCallLogAndMetrics(t *testing.T) {
	var logs syncBuffer
	srv := servertest.Start(t, func(c *server.Config) {
		c.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	hooks := make(chan struct{}, 16)
	endpoint := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hooks <- struct{}{} }))
	defer endpoint.Close()
	admin := &api.AdminClient{BaseURL: srv.URL, Token: srv.AdminToken()}
	if _, err := admin.SetWebhook(ctx, srv.AppKey, endpoint.URL, "a-webhook-secret-of-some-length"); err != nil {
		t.Fatal(err)
	}
	caller, err := dialDevice(ctx, srv.URL, userToken(t, srv, "alice"), "a1")
	if err != nil {
		t.Fatal(err)
	}
	callee, err := dialDevice(ctx, srv.URL, userToken(t, srv, "bob"), "b1")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { caller.ws.CloseNow(); callee.ws.CloseNow() })
	if err := callCycle(ctx, caller, callee, "bob"); err != nil {
		t.Fatal(err)
	}
	srv.FlushCallRecords()
	<-hooks // the call's first event reached the endpoint; its outcome is counted after the reply
	for deadline := time.Now().Add(10 * time.Second); ; {
		_, body := srv.Do(http.MethodGet, "/metrics", "", nil)
		if strings.Contains(string(body), `duet_webhook_attempts_total{outcome="delivered"}`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no delivered webhook attempt counted")
		}
		time.Sleep(10 * time.Millisecond)
	}

	out := logs.String()
	for _, want := range []string{`msg="call invited"`, `msg="call accepted"`, `msg="call ended"`, "reason=hangup", "endedBy=alice", "duration=", "connectType=none"} {
		if !strings.Contains(out, want) {
			t.Errorf("the log lacks %s:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "level=WARN") + strings.Count(out, "level=ERROR"); n > 0 {
		t.Errorf("%d warnings for a call that went well:\n%s", n, out)
	}
	status, body := srv.Do(http.MethodGet, "/metrics", "", nil)
	if status != http.StatusOK {
		t.Fatalf("/metrics: %d", status)
	}
	for _, want := range []string{
		`duet_calls_started_total{type="voice"} 1`,
		`duet_calls_ended_total{reason="hangup",type="voice"} 1`,
		`duet_call_setup_seconds_count 1`,
		`duet_call_ring_seconds_count 1`,
		`duet_call_duration_seconds_count{type="voice"} 1`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}
