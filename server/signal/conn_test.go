package signal

import (
	"bufio"
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/duet-rtc/duet/protocol"
)

func TestPingPong(t *testing.T) {
	e := newTestEnv(t, Config{})
	c, _ := e.login(t, "alice", "d1")
	e.clock.Advance(1500 * time.Millisecond)
	r := c.request(protocol.TypePing, nil)
	var p protocol.Pong
	if r.Type != protocol.TypeReply || r.Error != nil || r.DecodeData(&p) != nil {
		t.Fatalf("ping reply %+v", r)
	}
	if want := epoch.Add(1500 * time.Millisecond).UnixMilli(); p.ServerTime != want {
		t.Fatalf("serverTime %d, want %d", p.ServerTime, want)
	}
}

func TestHandlerMessages(t *testing.T) {
	e := newTestEnv(t, Config{})
	c, _ := e.login(t, "alice", "d1")
	r := c.request("test.echo", map[string]int{"n": 7})
	if r.Type != protocol.TypeReply || string(r.Data) != `{"n":7}` {
		t.Fatalf("echo reply %+v", r)
	}
	// The hub does not know call.* types: the handler answers for them.
	r = c.request("call.nonsense", nil)
	if r.Error == nil || r.Error.Code != protocol.CodeUnknownMessage {
		t.Fatalf("unknown type reply %+v", r)
	}
	e.h.mu.Lock()
	n := len(e.h.msgs)
	e.h.mu.Unlock()
	if n != 2 {
		t.Fatalf("handler got %d messages, want 2 (no hello, no ping)", n)
	}
}

func TestMalformedFrameKeepsConnection(t *testing.T) {
	e := newTestEnv(t, Config{})
	c, _ := e.login(t, "alice", "d1")

	c.sendRaw([]byte(`{"type":`))
	c.expectError("", protocol.CodeBadMessage)
	c.sendRaw([]byte(`{"type":"ping","id":"x","data":[]}`))
	c.expectError("", protocol.CodeBadMessage)
	// A frame that parses but that the hub refuses is answered under its id.
	c.send(protocol.NewMessage(protocol.TypeHello, "h2", protocol.Hello{Version: 1, Token: "tok-alice", DeviceID: "d1"}))
	c.expectError("h2", protocol.CodeBadMessage)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := c.ws.Write(ctx, websocket.MessageBinary, []byte(`{"type":"ping","id":"b"}`)); err != nil {
		t.Fatal(err)
	}
	c.expectError("b", protocol.CodeBadMessage)

	if r := c.request(protocol.TypePing, nil); r.Error != nil {
		t.Fatalf("ping after bad frames: %+v", r)
	}
	if e.hub.Count() != 1 {
		t.Fatal("the device went offline")
	}
}

func TestTooManyBadFrames(t *testing.T) {
	e := newTestEnv(t, Config{MaxBadFrames: 3})
	c, _ := e.login(t, "alice", "d1")
	e.h.waitOnline(t)
	for range 4 {
		c.sendRaw([]byte(`nonsense`))
	}
	got := c.expectClose(websocket.StatusPolicyViolation, "too many bad frames")
	if len(got) != 3 {
		t.Fatalf("got %d error frames before the close, want 3", len(got))
	}
	if d := e.h.waitOffline(t); d != dev("alice", "d1") {
		t.Fatalf("DeviceOffline(%v)", d)
	}
}

func TestOversizedFrame(t *testing.T) {
	e := newTestEnv(t, Config{})
	c, _ := e.login(t, "alice", "d1")
	e.h.waitOnline(t)
	big := `{"type":"test.echo","id":"big","data":{"s":"` + strings.Repeat("x", protocol.MaxFrameBytes) + `"}}`
	c.sendRaw([]byte(big))
	c.expectClose(websocket.StatusMessageTooBig, "")
	e.h.waitOffline(t)

	// A frame of exactly MaxFrameBytes is fine.
	c2, _ := e.login(t, "bob", "d1")
	pad := protocol.MaxFrameBytes - len(`{"type":"test.echo","id":"ok","data":{"s":""}}`)
	c2.sendRaw([]byte(`{"type":"test.echo","id":"ok","data":{"s":"` + strings.Repeat("y", pad) + `"}}`))
	if r := c2.read(); r.ID != "ok" || r.Error != nil {
		t.Fatalf("reply to a frame of MaxFrameBytes: %+v", r.Error)
	}
}

func TestRateLimit(t *testing.T) {
	e := newTestEnv(t, Config{RateLimit: 1, RateBurst: 5})
	c, _ := e.login(t, "alice", "d1")
	e.h.waitOnline(t)
	for i := range 5 {
		if r := c.request(protocol.TypePing, nil); r.Error != nil {
			t.Fatalf("ping %d: %+v", i, r.Error)
		}
	}
	r := c.request(protocol.TypePing, nil)
	if r.Error == nil || r.Error.Code != protocol.CodeRateLimited {
		t.Fatalf("ping over the limit: %+v", r)
	}
	// A second refills one token.
	e.clock.Advance(time.Second)
	if r := c.request(protocol.TypePing, nil); r.Error != nil {
		t.Fatalf("ping after a second: %+v", r.Error)
	}
	// A full bucket forgives the refusals so far.
	e.clock.Advance(10 * time.Second)
	for range 5 {
		c.request(protocol.TypePing, nil)
	}
	for range 5 {
		if r := c.request(protocol.TypePing, nil); r.Error == nil || r.Error.Code != protocol.CodeRateLimited {
			t.Fatalf("want CodeRateLimited, got %+v", r)
		}
	}
	// Pushing on past RateBurst refusals closes the connection.
	c.send(protocol.NewMessage(protocol.TypePing, "last", nil))
	c.expectClose(websocket.StatusPolicyViolation, "rate limit exceeded")
	e.h.waitOffline(t)
}

func TestHandlerPanic(t *testing.T) {
	e := newTestEnv(t, Config{})
	c, _ := e.login(t, "alice", "d1")
	e.h.waitOnline(t)
	c.send(protocol.NewMessage("test.panic", "p", nil))
	c.expectClose(websocket.StatusInternalError, "internal error")
	e.h.waitOffline(t)
	// The server is still there.
	c2, _ := e.login(t, "alice", "d1")
	if r := c2.request(protocol.TypePing, nil); r.Error != nil {
		t.Fatal(r.Error)
	}
}

// A client may send its hello right behind the upgrade request, in the same segment.
func TestPipelinedHello(t *testing.T) {
	e := newTestEnv(t, Config{})
	addr := strings.TrimPrefix(e.url, "ws://")
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(wait))
	hello := helloFrame("alice", "d1")
	ping := []byte(`{"type":"ping","id":"p1"}`)
	req := "GET / HTTP/1.1\r\nHost: " + addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
	// Upgrade, hello and a ping in one write.
	if _, err := nc.Write(append(append([]byte(req), clientFrame(hello)...), clientFrame(ping)...)); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(nc)
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if line == "\r\n" {
			break
		}
	}
	for _, want := range []string{`"appKey"`, `"p1"`} {
		if got := serverFrame(t, br); !strings.Contains(got, want) {
			t.Fatalf("got %s, want %s in it", got, want)
		}
	}
	// And the connection is not stuck: a later ping is answered too.
	nc.Write(clientFrame([]byte(`{"type":"ping","id":"p2"}`)))
	if got := serverFrame(t, br); !strings.Contains(got, `"p2"`) {
		t.Fatalf("got %s", got)
	}
}

// clientFrame makes a masked text frame (mask key zero) of a payload under 64 KiB.
func clientFrame(p []byte) []byte {
	f := []byte{0x81, 0x80 | 126, byte(len(p) >> 8), byte(len(p)), 0, 0, 0, 0}
	return append(f, p...)
}

// serverFrame reads one unmasked frame of under 64 KiB.
func serverFrame(t *testing.T, br *bufio.Reader) string {
	t.Helper()
	var h [4]byte
	if _, err := io.ReadFull(br, h[:2]); err != nil {
		t.Fatal(err)
	}
	n := int(h[1] & 0x7f)
	if n == 126 {
		if _, err := io.ReadFull(br, h[2:4]); err != nil {
			t.Fatal(err)
		}
		n = int(h[2])<<8 | int(h[3])
	}
	p := make([]byte, n)
	if _, err := io.ReadFull(br, p); err != nil {
		t.Fatal(err)
	}
	return string(p)
}
