package signal

import (
	"slices"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/duet-rtc/duet/protocol"
)

func TestHelloWelcome(t *testing.T) {
	e := newTestEnv(t, Config{MaxPingInterval: 2 * time.Minute})
	c := e.dial(t)
	w := c.hello(protocol.Hello{Version: protocol.Version, Token: "tok-alice", DeviceID: "phone-1",
		Capabilities: protocol.Capabilities{Audio: true}, Calls: []string{"call-1"}})
	want := protocol.Welcome{Version: protocol.Version, AppKey: testApp, Username: "alice", DeviceID: "phone-1",
		PingInterval: 30, ServerTime: epoch.UnixMilli()}
	if w != want {
		t.Fatalf("welcome %+v, want %+v", w, want)
	}
	ev := e.h.waitOnline(t)
	if ev.dev.Device != dev("alice", "phone-1") || ev.dev.Capabilities != (protocol.Capabilities{Audio: true}) ||
		!slices.Equal(ev.resume, []string{"call-1"}) {
		t.Fatalf("DeviceOnline(%+v, %v)", ev.dev, ev.resume)
	}
	got := e.hub.OnlineDevices(testApp, "alice")
	if len(got) != 1 || got[0] != ev.dev {
		t.Fatalf("OnlineDevices = %+v", got)
	}
	if n := e.hub.Count(); n != 1 {
		t.Fatalf("Count = %d", n)
	}

	// The ping interval asked for is kept within [10 s, MaxPingInterval].
	for _, tc := range []struct{ ask, got int }{{15, 15}, {10, 10}, {3600, 120}} {
		c := e.dial(t)
		w := c.hello(protocol.Hello{Version: protocol.Version, Token: "tok-bob", DeviceID: "d", PingInterval: tc.ask})
		if w.PingInterval != tc.got {
			t.Errorf("pingInterval %d: welcome says %d, want %d", tc.ask, w.PingInterval, tc.got)
		}
	}
}

func TestHelloRefused(t *testing.T) {
	e := newTestEnv(t, Config{})
	hello := func(token string) protocol.Hello {
		return protocol.Hello{Version: protocol.Version, Token: token, DeviceID: "d1"}
	}
	tests := []struct {
		name   string
		body   any
		code   protocol.ErrorCode
		close  websocket.StatusCode
		reason string
	}{
		{"bad token", hello("nope"), protocol.CodeInvalidToken, CloseUnauthorized, "invalid token"},
		{"removed user", hello("removed"), protocol.CodeUserRemoved, CloseForbidden, "user removed"},
		{"authenticator failure", hello("broken"), protocol.CodeServerBusy, websocket.StatusTryAgainLater, ""},
		{"wrong version", protocol.Hello{Version: 2, Token: "tok-a", DeviceID: "d1"}, protocol.CodeUnsupportedVersion, CloseBadHello, ""},
		{"newer version with new fields", map[string]any{"version": 7, "token": "tok-a", "deviceId": "d1", "future": true},
			protocol.CodeUnsupportedVersion, CloseBadHello, ""},
		{"version missing", map[string]any{"token": "tok-a", "deviceId": "d1"}, protocol.CodeUnsupportedVersion, CloseBadHello, ""},
		{"newer versions only", map[string]any{"version": 3, "versions": []int{2, 3}, "token": "tok-a", "deviceId": "d1"},
			protocol.CodeUnsupportedVersion, CloseBadHello, ""},
		{"too many versions", map[string]any{"version": 1, "versions": slices.Repeat([]int{1}, 17), "token": "tok-a", "deviceId": "d1"},
			protocol.CodeBadMessage, CloseBadHello, ""},
		{"bad device id", protocol.Hello{Version: protocol.Version, Token: "tok-a", DeviceID: "has space"}, protocol.CodeBadMessage, CloseBadHello, ""},
		{"missing token", protocol.Hello{Version: protocol.Version, DeviceID: "d1"}, protocol.CodeInvalidToken, CloseUnauthorized, ""},
		{"ping interval too short", protocol.Hello{Version: protocol.Version, Token: "tok-a", DeviceID: "d1", PingInterval: 5}, protocol.CodeBadMessage, CloseBadHello, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := e.dial(t)
			c.send(protocol.NewMessage(protocol.TypeHello, "h1", tc.body))
			c.expectError("h1", tc.code)
			c.expectClose(tc.close, tc.reason)
		})
	}
	if n := e.hub.Count(); n != 0 {
		t.Fatalf("Count = %d after refused hellos", n)
	}
	select {
	case ev := <-e.h.online:
		t.Fatalf("DeviceOnline(%+v) for a refused hello", ev)
	default:
	}
}

func TestFirstFrameNotHello(t *testing.T) {
	e := newTestEnv(t, Config{})
	for name, frame := range map[string]string{
		"ping":         `{"type":"ping","id":"p1"}`,
		"call":         `{"type":"call.invite","id":"p1","data":{"to":"bob","type":0}}`,
		"not json":     `hello`,
		"bad envelope": `{"type":"hello","id":"p1","data":[]}`,
	} {
		t.Run(name, func(t *testing.T) {
			c := e.dial(t)
			c.sendRaw([]byte(frame))
			env := c.read()
			if env.Error == nil || env.Error.Code != protocol.CodeNotHello {
				t.Fatalf("got %+v, want CodeNotHello", env)
			}
			c.expectClose(CloseBadHello, "")
		})
	}
}

func TestHelloTimeout(t *testing.T) {
	e := newTestEnv(t, Config{HelloTimeout: 10 * time.Second})
	c := e.dial(t)
	waitFor(t, "the hello timer", func() bool { return e.clock.Pending() == 1 })
	e.clock.Advance(9 * time.Second)
	if e.clock.Pending() != 1 {
		t.Fatal("the hello timer fired early")
	}
	e.clock.Advance(time.Second)
	c.expectClose(CloseTimeout, "hello timeout")
	waitFor(t, "the connection to end", func() bool { return e.connCount() == 0 })
	e.h.noOffline(t)
}

// connCount is the number of open connections, authenticated or not.
func (e *testEnv) connCount() int {
	e.hub.mu.RLock()
	defer e.hub.mu.RUnlock()
	return len(e.hub.conns)
}
