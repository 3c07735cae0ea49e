package signal

import (
	"context"
	"testing"
	"time"

	"github.com/duet-rtc/duet/protocol"
)

func TestHeartbeatTimeout(t *testing.T) {
	e := newTestEnv(t, Config{})
	c := e.dial(t)
	w := c.hello(protocol.Hello{Version: protocol.Version, Token: "tok-alice", DeviceID: "d1", PingInterval: 10})
	if w.PingInterval != 10 {
		t.Fatalf("pingInterval %d", w.PingInterval)
	}
	e.h.waitOnline(t)

	// 2.5 × 10 s of silence is allowed, not a moment more.
	e.clock.Advance(25*time.Second - time.Millisecond)
	if len(e.hub.OnlineDevices(testApp, "alice")) != 1 {
		t.Fatal("dropped before the heartbeat timeout")
	}
	e.clock.Advance(time.Millisecond)
	if len(e.hub.OnlineDevices(testApp, "alice")) != 0 {
		t.Fatal("still listed after the heartbeat timeout")
	}
	c.expectClose(CloseTimeout, "heartbeat timeout")
	if d := e.h.waitOffline(t); d != dev("alice", "d1") {
		t.Fatalf("DeviceOffline(%v)", d)
	}
	if e.hub.Count() != 0 {
		t.Fatal("Count after the timeout")
	}
}

func TestHeartbeatKeptAlive(t *testing.T) {
	e := newTestEnv(t, Config{})
	c, w := e.login(t, "alice", "d1") // default 30 s: timeout 75 s
	e.h.waitOnline(t)
	if w.PingInterval != 30 {
		t.Fatalf("pingInterval %d", w.PingInterval)
	}
	for i := range 20 {
		e.clock.Advance(30 * time.Second)
		if r := c.request(protocol.TypePing, nil); r.Error != nil {
			t.Fatalf("ping %d: %+v", i, r.Error)
		}
	}
	// Any frame counts, not only pings.
	for range 3 {
		e.clock.Advance(70 * time.Second)
		c.request("test.echo", nil)
	}
	if len(e.hub.OnlineDevices(testApp, "alice")) != 1 {
		t.Fatal("dropped while pinging")
	}
	// One timer per connection, whatever the traffic.
	if n := e.clock.Pending(); n != 1 {
		t.Fatalf("%d pending timers, want 1", n)
	}
	e.clock.Advance(75 * time.Second)
	c.expectClose(CloseTimeout, "heartbeat timeout")
	e.h.waitOffline(t)
}

// WebSocket-level pings count as signs of life too.
func TestHeartbeatControlFrames(t *testing.T) {
	e := newTestEnv(t, Config{})
	c, _ := e.login(t, "alice", "d1")
	e.h.waitOnline(t)
	// The library answers pings from its reader: read in the background.
	go c.ws.CloseRead(context.Background())
	for range 5 {
		e.clock.Advance(60 * time.Second)
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		err := c.ws.Ping(ctx)
		cancel()
		if err != nil {
			t.Fatalf("ping: %v", err)
		}
	}
	if len(e.hub.OnlineDevices(testApp, "alice")) != 1 {
		t.Fatal("dropped while sending WebSocket pings")
	}
}
