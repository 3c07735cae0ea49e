package signal

import (
	"context"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/duet-rtc/duet/protocol"
	"github.com/duet-rtc/duet/server/route"
)

func TestDeviceReplacement(t *testing.T) {
	e := newTestEnv(t, Config{})
	old, _ := e.login(t, "alice", "phone")
	e.h.waitOnline(t)
	other, _ := e.login(t, "alice", "tablet")
	e.h.waitOnline(t)

	c, _ := e.login(t, "alice", "phone")
	e.h.waitOnline(t) // DeviceOnline again: the call flow sees a reconnect

	got := old.expectClose(CloseKicked, "")
	if len(got) != 1 || got[0].Type != protocol.TypeKicked {
		t.Fatalf("old connection got %+v, want kicked", got)
	}
	var k protocol.Kicked
	if err := got[0].DecodeData(&k); err != nil || k.Reason != protocol.EndLoginOtherDevice {
		t.Fatalf("kicked %+v, %v", k, err)
	}
	waitFor(t, "the old connection to end", func() bool { return e.connCount() == 2 })
	e.h.noOffline(t)

	if n := e.hub.Count(); n != 2 {
		t.Fatalf("Count = %d, want 2", n)
	}
	if list := e.hub.OnlineDevices(testApp, "alice"); len(list) != 2 {
		t.Fatalf("OnlineDevices = %+v", list)
	}
	if !e.hub.Send(dev("alice", "phone"), protocol.NewMessage("test.note", "", map[string]int{"n": 1})) {
		t.Fatal("Send to the new connection failed")
	}
	if env := c.read(); env.Type != "test.note" {
		t.Fatalf("new connection got %+v", env)
	}
	if r := c.request(protocol.TypePing, nil); r.Error != nil {
		t.Fatal(r.Error)
	}

	c.ws.Close(websocket.StatusNormalClosure, "")
	if d := e.h.waitOffline(t); d != dev("alice", "phone") {
		t.Fatalf("DeviceOffline(%v)", d)
	}
	if n := e.hub.Count(); n != 1 {
		t.Fatalf("Count = %d, want 1", n)
	}
	_ = other
}

// A device that comes back while its previous connection is still going offline is not
// announced until DeviceOffline has returned.
func TestOfflineBeforeOnline(t *testing.T) {
	e := newTestEnv(t, Config{})
	gate := make(chan struct{})
	e.h.offlineGate = gate
	waiting := make(chan route.Device, 1)
	e.hub.testHookLeaving = func(d route.Device) { waiting <- d }

	a, _ := e.login(t, "alice", "phone")
	e.h.waitOnline(t)
	a.ws.CloseNow()
	waitFor(t, "DeviceOffline to start", func() bool {
		e.hub.mu.RLock()
		defer e.hub.mu.RUnlock()
		return len(e.hub.leaving) == 1
	})

	b := e.dial(t)
	b.send(protocol.NewMessage(protocol.TypeHello, "h", protocol.Hello{Version: 1, Token: "tok-alice", DeviceID: "phone"}))
	select {
	case d := <-waiting:
		if d != dev("alice", "phone") {
			t.Fatalf("waited for %v", d)
		}
	case <-time.After(wait):
		t.Fatal("the new hello did not wait for DeviceOffline")
	}
	close(gate)
	e.h.waitOffline(t)
	if r := b.read(); r.ID != "h" || r.Error != nil {
		t.Fatalf("welcome %+v", r)
	}
	e.h.waitOnline(t)
}

func TestWelcomeFirst(t *testing.T) {
	e := newTestEnv(t, Config{})
	// Whatever the handler sends from DeviceOnline arrives after Welcome.
	e.h.onOnline = func(d route.Online) {
		e.hub.Send(d.Device, protocol.NewMessage("test.first", "", nil))
	}
	c := e.dial(t)
	c.hello(protocol.Hello{Version: protocol.Version, Token: "tok-alice", DeviceID: "d1"})
	if env := c.read(); env.Type != "test.first" {
		t.Fatalf("got %+v after welcome", env)
	}

	// Senders racing with a hello never get ahead of its Welcome.
	e.h.onOnline = nil
	for i := range 20 {
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
					if e.hub.Send(dev("bob", "d1"), protocol.NewMessage("test.race", "", nil)) {
						return
					}
				}
			}
		}()
		c := e.dial(t)
		c.hello(protocol.Hello{Version: protocol.Version, Token: "tok-bob", DeviceID: "d1"}) // fails if test.race came first
		if env := c.read(); env.Type != "test.race" {
			t.Fatalf("got %+v", env)
		}
		close(stop)
		wg.Wait()
		c.ws.CloseNow()
		e.h.waitOnline(t)
		e.h.waitOffline(t)
		_ = i
	}
}

func TestSendUnknownDevice(t *testing.T) {
	e := newTestEnv(t, Config{})
	if e.hub.Send(dev("nobody", "d"), protocol.NewMessage("test.x", "", nil)) {
		t.Fatal("Send to a device that is not connected reported true")
	}
	if e.hub.OnlineDevices(testApp, "nobody") != nil {
		t.Fatal("OnlineDevices of nobody")
	}
}

func TestSlowConsumer(t *testing.T) {
	e := newTestEnv(t, Config{SendQueue: 4})
	_, _ = e.login(t, "alice", "d1") // never reads again
	e.h.waitOnline(t)
	big := protocol.NewMessage("test.big", "", map[string]string{"s": strings.Repeat("x", 60<<10)})
	start := time.Now()
	sent := 0
	for e.hub.Send(dev("alice", "d1"), big) {
		sent++
		if sent > 100_000 {
			t.Fatal("the queue never filled")
		}
	}
	if d := time.Since(start); d > wait {
		t.Fatalf("Send blocked: %v for %d frames", d, sent)
	}
	t.Logf("dropped after %d frames (%d MB)", sent, sent*60>>10)
	if d := e.h.waitOffline(t); d != dev("alice", "d1") {
		t.Fatalf("DeviceOffline(%v)", d)
	}
	if e.hub.Send(dev("alice", "d1"), big) {
		t.Fatal("Send after the drop reported true")
	}
}

func TestKick(t *testing.T) {
	e := newTestEnv(t, Config{})
	a1, _ := e.login(t, "alice", "d1")
	a2, _ := e.login(t, "alice", "d2")
	b, _ := e.login(t, "bob", "d1")
	for range 3 {
		e.h.waitOnline(t)
	}
	e.hub.Kick(testApp, "alice", protocol.EndDestroy)
	for _, c := range []*client{a1, a2} {
		got := c.expectClose(CloseKicked, "kicked: destroy")
		var k protocol.Kicked
		if len(got) != 1 || got[0].Type != protocol.TypeKicked || got[0].DecodeData(&k) != nil || k.Reason != protocol.EndDestroy {
			t.Fatalf("got %+v before the close, want kicked 8", got)
		}
	}
	offline := map[route.Device]bool{e.h.waitOffline(t): true, e.h.waitOffline(t): true}
	if !offline[dev("alice", "d1")] || !offline[dev("alice", "d2")] {
		t.Fatalf("DeviceOffline for %v", offline)
	}
	if r := b.request(protocol.TypePing, nil); r.Error != nil {
		t.Fatal("bob suffered from alice's kick")
	}
	if e.hub.Count() != 1 {
		t.Fatalf("Count = %d", e.hub.Count())
	}
}

func TestShutdown(t *testing.T) {
	before := runtime.NumGoroutine()
	e := newTestEnv(t, Config{})
	var clients []*client
	for _, u := range []string{"alice", "bob", "carol"} {
		c, _ := e.login(t, u, "d1")
		e.h.waitOnline(t)
		clients = append(clients, c)
	}
	pending := e.dial(t) // no hello yet
	waitFor(t, "the pending connection", func() bool { return e.connCount() == 4 })

	// The clients answer the close handshake by reading.
	results := make(chan []*protocol.Envelope, len(clients)+1)
	for _, c := range append(clients, pending) {
		go func() { results <- c.expectClose(websocket.StatusGoingAway, "server shutdown") }()
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := e.hub.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	for range len(clients) + 1 {
		got := <-results
		var g protocol.Goodbye
		if len(got) != 1 || got[0].Type != protocol.TypeGoodbye || got[0].DecodeData(&g) != nil ||
			g != (protocol.Goodbye{Reason: protocol.GoodbyeRestart, RetryAfter: 1000}) {
			t.Fatalf("got %+v (%+v), want goodbye with retryAfter 1000", got, g)
		}
	}
	for range clients {
		e.h.waitOffline(t)
	}
	if e.connCount() != 0 || e.hub.Count() != 0 {
		t.Fatalf("%d connections, %d devices left", e.connCount(), e.hub.Count())
	}

	// New upgrades are refused.
	expectDrainRefusal(t, e.url, "1")

	for _, c := range clients {
		c.ws.CloseNow()
	}
	pending.ws.CloseNow()
	e.srv.Close()
	http.DefaultClient.CloseIdleConnections()
	waitFor(t, "goroutines to end", func() bool { return runtime.NumGoroutine() <= before })
}

// expectDrainRefusal dials url and checks the upgrade is refused with 503 and the
// Retry-After header retryAfter ("" for none).
func expectDrainRefusal(t *testing.T, url, retryAfter string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	ws, resp, err := websocket.Dial(ctx, url, nil)
	if err == nil {
		ws.CloseNow()
	}
	if err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("dial during the drain: %v, %v; want 503", resp, err)
	}
	if got := resp.Header.Get("Retry-After"); got != retryAfter {
		t.Fatalf("Retry-After %q, want %q", got, retryAfter)
	}
}

// An upgrade that comes while Shutdown waits for devices to close is refused with 503 and
// Retry-After, before any WebSocket is made; the drain then ends at the close timeout.
func TestUpgradeDuringDrain(t *testing.T) {
	e := newTestEnv(t, Config{DrainRetryAfter: 1500 * time.Millisecond})
	slow, _ := e.login(t, "alice", "d1") // does not read: holds the drain up
	e.h.waitOnline(t)
	done := make(chan error, 1)
	go func() { done <- e.hub.Shutdown(context.Background()) }()
	waitFor(t, "the drain to begin", func() bool {
		e.hub.mu.RLock()
		defer e.hub.mu.RUnlock()
		return e.hub.closed
	})
	expectDrainRefusal(t, e.url, "2") // 1.5 s, rounded up to whole seconds
	select {
	case err := <-done:
		t.Fatalf("Shutdown returned before the slow device closed: %v", err)
	default:
	}
	waitFor(t, "the close timeout to cut the slow device", func() bool {
		e.clock.Advance(DefaultCloseTimeout)
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("Shutdown: %v", err)
			}
			return true
		default:
			return false
		}
	})
	got := slow.expectCut()
	var g protocol.Goodbye
	if len(got) != 1 || got[0].DecodeData(&g) != nil || g.RetryAfter != 1500 {
		t.Fatalf("the slow device got %+v, want goodbye with retryAfter 1500", got)
	}
	e.h.waitOffline(t)
}

// A negative DrainRetryAfter keeps the goodbye of old: no retryAfter, no Retry-After.
func TestShutdownWithoutRetryAfter(t *testing.T) {
	e := newTestEnv(t, Config{DrainRetryAfter: -1})
	c, _ := e.login(t, "alice", "d1")
	e.h.waitOnline(t)
	results := make(chan []*protocol.Envelope, 1)
	go func() { results <- c.expectClose(websocket.StatusGoingAway, "") }()
	if err := e.hub.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := <-results
	var g protocol.Goodbye
	if len(got) != 1 || got[0].DecodeData(&g) != nil || g != (protocol.Goodbye{Reason: protocol.GoodbyeRestart}) {
		t.Fatalf("got %+v (%+v)", got, g)
	}
	if !strings.Contains(string(got[0].Data), `"reason"`) || strings.Contains(string(got[0].Data), "retryAfter") {
		t.Fatalf("goodbye body %s", got[0].Data)
	}
	expectDrainRefusal(t, e.url, "")
	e.h.waitOffline(t)
}

func TestShutdownDeadline(t *testing.T) {
	e := newTestEnv(t, Config{})
	c, _ := e.login(t, "alice", "d1") // does not read: never answers the close
	e.h.waitOnline(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := e.hub.Shutdown(ctx); err != context.Canceled {
		t.Fatalf("Shutdown with an ended context: %v", err)
	}
	e.h.waitOffline(t)
	waitFor(t, "the connection to be cut", func() bool { return e.connCount() == 0 })
	_ = c
}

func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	e := newTestEnv(t, Config{Metrics: reg})
	c, _ := e.login(t, "alice", "d1")
	c.request(protocol.TypePing, nil)
	c.sendRaw([]byte("junk"))
	c.expectError("", protocol.CodeBadMessage)
	bad := e.dial(t)
	bad.send(protocol.NewMessage(protocol.TypeHello, "h", protocol.Hello{Version: 1, Token: "nope", DeviceID: "d"}))
	bad.expectError("h", protocol.CodeInvalidToken)
	bad.expectClose(CloseUnauthorized, "")
	waitFor(t, "the refused connection to end", func() bool { return e.connCount() == 1 })

	// A second hub on the same registry shares the collectors.
	NewHub(Config{Metrics: reg}, testAuth{}, nil)

	want := map[string]float64{
		"duet_connections":                           1,
		"duet_logins_total":                          1,
		"duet_login_failures_total":                  1,
		"duet_protocol_errors_total{kind=bad_frame}": 1,
		"duet_messages_total{direction=in}":          1, // the ping; junk is not a message
		"duet_messages_total{direction=out}":         4, // welcome, pong, two errors
		"duet_disconnects_total{reason=hello}":       1,
	}
	got := gather(t, reg)
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
}

func gather(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			name := mf.GetName()
			for _, l := range m.GetLabel() {
				name += "{" + l.GetName() + "=" + l.GetValue() + "}"
			}
			out[name] = value(m)
		}
	}
	return out
}

func value(m *dto.Metric) float64 {
	switch {
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Counter != nil:
		return m.Counter.GetValue()
	}
	return 0
}

func TestNilHandler(t *testing.T) {
	hub := NewHub(Config{Logger: quietLogger()}, testAuth{}, nil)
	srv := httptest.NewServer(hub)
	defer srv.Close()
	defer hub.Shutdown(context.Background())
	e := &testEnv{hub: hub, url: "ws" + strings.TrimPrefix(srv.URL, "http")}
	c, _ := e.login(t, "alice", "d1")
	if r := c.request("call.invite", nil); r.Error == nil || r.Error.Code != protocol.CodeUnknownMessage {
		t.Fatalf("got %+v", r)
	}
	c.ws.Close(websocket.StatusNormalClosure, "")
}
