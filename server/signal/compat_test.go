package signal

import (
	"testing"

	"github.com/duet-rtc/duet/protocol"
)

// TestHelloNegotiatesVersion: the hub picks the newest version it shares with the client
// and names it in welcome; a hello from before the versions list is version 1's.
func TestHelloNegotiatesVersion(t *testing.T) {
	e := newTestEnv(t, Config{MinVersion: 1, MaxVersion: 3})
	for _, tc := range []struct {
		name     string
		version  int
		versions []int
		want     int
	}{
		{"no list", 1, nil, 1},
		{"newest shared", 5, []int{1, 2, 5}, 2},
		{"server's newest", 3, []int{3, 2}, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := e.dial(t)
			w := c.hello(protocol.Hello{Version: tc.version, Versions: tc.versions, Token: "tok-a", DeviceID: "d-" + tc.name[:2]})
			if w.Version != tc.want {
				t.Fatalf("welcome version %d, want %d", w.Version, tc.want)
			}
		})
	}
}

// TestHelloUpgradeRequired: a client whose versions are all older than the hub's oldest
// hears CodeUpgradeRequired (not 903, not a token error), and the connection closes.
func TestHelloUpgradeRequired(t *testing.T) {
	e := newTestEnv(t, Config{MinVersion: 2, MaxVersion: 2})
	for _, h := range []protocol.Hello{
		{Version: 1, Token: "tok-a", DeviceID: "d1"},                                 // predates the list
		{Version: 1, Versions: []int{1}, Token: "tok-a", DeviceID: "d1"},             // lists only old ones
		{Version: 1, Versions: []int{1}, Token: "", DeviceID: "bad id"},              // version decides first
		{Version: 1, Versions: []int{1}, Token: "tok-a", DeviceID: "d1", Calls: nil}, // the same, once more
	} {
		c := e.dial(t)
		c.send(protocol.NewMessage(protocol.TypeHello, "h", h))
		c.expectError("h", protocol.CodeUpgradeRequired)
		c.expectClose(CloseBadHello, "")
	}
}

// TestUnknownFieldsAndTypesIgnored: a newer client's hello and messages may carry fields
// this hub does not know, and one-way messages of types it does not know; they are ignored.
// A request of an unknown type still gets 901, so that the client knows.
func TestUnknownFieldsAndTypesIgnored(t *testing.T) {
	e := newTestEnv(t, Config{})
	c := e.dial(t)
	c.sendRaw([]byte(`{"type":"hello","id":"h","trace":"x","data":{"version":2,"versions":[1,2],` +
		`"token":"tok-alice","deviceId":"d1","capabilities":{"audio":true,"screen":true},"future":{"a":1}}}`))
	if env := c.read(); env.ID != "h" || env.Error != nil {
		t.Fatalf("hello with unknown fields: %+v", env)
	}
	e.h.waitOnline(t)

	c.sendRaw([]byte(`{"type":"call.nonsense","data":{"x":1}}`)) // one-way, unknown: no answer
	c.sendRaw([]byte(`{"type":"ping","id":"p","priority":9}`))
	if env := c.read(); env.ID != "p" || env.Error != nil {
		t.Fatalf("after an unknown one-way message, got %+v, want the pong", env)
	}
	if r := c.request("call.nonsense", nil); r.Error == nil || r.Error.Code != protocol.CodeUnknownMessage {
		t.Fatalf("unknown request: %+v, want 901", r)
	}
}

// TestMalformedJSONRefused: a frame is one JSON value, with each key once, in UTF-8;
// anything else is 900 (encoding/json alone would take the last of two keys, replace bad
// bytes with U+FFFD and read past a stray closing brace).
func TestMalformedJSONRefused(t *testing.T) {
	e := newTestEnv(t, Config{MaxBadFrames: 100})
	c, _ := e.login(t, "alice", "d1")
	for name, frame := range map[string]string{
		"trailing data":  `{"type":"chat.send","data":{"to":"bob","text":"hi"}} {"type":"ping"}`,
		"trailing brace": `{"type":"chat.send","data":{"to":"bob","text":"hi"}}}`,
		"duplicate key":  `{"type":"chat.send","data":{"to":"bob","to":"carol","text":"hi"}}`,
		"invalid UTF-8":  "{\"type\":\"chat.send\",\"data\":{\"to\":\"bob\",\"text\":\"h\xffi\"}}",
	} {
		t.Run(name, func(t *testing.T) {
			c.sendRaw([]byte(frame))
			c.expectError("", protocol.CodeBadMessage)
		})
	}
	e.h.mu.Lock()
	n := len(e.h.msgs)
	e.h.mu.Unlock()
	if n != 0 {
		t.Fatalf("the handler got %d malformed frames", n)
	}
}
