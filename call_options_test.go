package duet_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/duet-rtc/duet"
	"github.com/duet-rtc/duet/internal/clock"
	"github.com/duet-rtc/duet/protocol"
)

// TestCallOptionsRanges: the ranges the error table and the field docs promise are checked
// where the app sets them.
func TestCallOptionsRanges(t *testing.T) {
	c, err := duet.NewClient(duet.Options{AppKey: "org#app", ServerURL: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cm := c.CallManager()
	for name, o := range map[string]duet.CallOptions{
		"min video without max":   {MinVideoKbps: 10000},
		"min video above max":     {MaxVideoKbps: 100, MinVideoKbps: 200},
		"offline text too long":   {OfflineMessageText: strings.Repeat("x", protocol.MaxExtBytes+1)},
		"ping interval too long":  {PingInterval: 3601},
		"ping interval too short": {PingInterval: 9},
	} {
		if err := cm.SetCallOptions(o); duet.ErrorCodeOf(err) != protocol.CodeUserIllegalArgument {
			t.Errorf("%s: SetCallOptions = %v, want 205", name, err)
		}
	}
	if err := cm.SetCallOptions(duet.CallOptions{MinVideoKbps: 300, OfflineMessageText: "hi"}); err != nil {
		t.Fatalf("valid options: %v", err)
	}
	_, err = cm.StartCall(context.Background(), duet.CallTypeVoice, strings.Repeat("a", 65), "")
	if duet.ErrorCodeOf(err) != protocol.CodeUsernameTooLong {
		t.Fatalf("call to a 65-byte username: %v, want 105", err)
	}
}

// frameLog is a fake server that welcomes every hello and records the frames it receives.
type frameLog struct {
	mu     sync.Mutex
	frames []*protocol.Envelope
}

func (l *frameLog) serve(w http.ResponseWriter, r *http.Request) {
	ws, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	defer ws.CloseNow()
	for {
		_, b, err := ws.Read(r.Context())
		if err != nil {
			return
		}
		env, err := protocol.DecodeEnvelope(b)
		if err != nil {
			return
		}
		l.mu.Lock()
		l.frames = append(l.frames, env)
		l.mu.Unlock()
		var reply *protocol.Envelope
		switch env.Type {
		case protocol.TypeHello:
			reply = protocol.NewReply(env.ID, protocol.Welcome{Version: 1, AppKey: "org#app", Username: "alice", DeviceID: "d", PingInterval: 30})
		case protocol.TypePing:
			reply = protocol.NewReply(env.ID, protocol.Pong{})
		}
		if reply != nil {
			b, _ := reply.Encode()
			if ws.Write(r.Context(), websocket.MessageText, b) != nil {
				return
			}
		}
	}
}

func (l *frameLog) count(typ string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, f := range l.frames {
		if f.Type == typ {
			n++
		}
	}
	return n
}

func (l *frameLog) hello(t *testing.T) protocol.Hello {
	l.mu.Lock()
	defer l.mu.Unlock()
	var h protocol.Hello
	if len(l.frames) == 0 || json.Unmarshal(l.frames[0].Data, &h) != nil {
		t.Fatalf("no hello in %v", l.frames)
	}
	return h
}

// TestCallOptionsPingInterval: CallOptions.PingInterval is the heartbeat the hello asks for,
// and a shorter one set while connected takes effect at the next ping.
func TestCallOptionsPingInterval(t *testing.T) {
	var log frameLog
	srv := httptest.NewServer(http.HandlerFunc(log.serve))
	defer srv.Close()
	clk := clock.NewFake(time.Now())
	c, err := duet.NewClient(duet.Options{AppKey: "org#app", ServerURL: srv.URL, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.CallManager().SetCallOptions(duet.CallOptions{PingInterval: 45}); err != nil {
		t.Fatal(err)
	}
	if err := c.LoginWithToken(ctxT(t), "alice", "tok"); err != nil {
		t.Fatal(err)
	}
	if h := log.hello(t); h.PingInterval != 45 {
		t.Fatalf("hello pingInterval %d, want 45", h.PingInterval)
	}
	// The server granted 30, and the pinger waits that; the app now asks for 10: after the
	// ping due, the next ones go out every 10 s.
	waitUntil(t, "the pinger's timer", func() bool { return clk.Pending() > 0 })
	if err := c.CallManager().SetCallOptions(duet.CallOptions{PingInterval: 10}); err != nil {
		t.Fatal(err)
	}
	clk.Advance(30 * time.Second) // the timer armed before the change fires: the first ping
	waitUntil(t, "the first ping", func() bool { return log.count(protocol.TypePing) == 1 })
	waitUntil(t, "the next ping's timer", func() bool { return clk.Pending() > 0 })
	clk.Advance(10 * time.Second)
	waitUntil(t, "a ping 10 s later", func() bool { return log.count(protocol.TypePing) == 2 })
}
