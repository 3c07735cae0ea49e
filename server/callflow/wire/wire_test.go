package wire

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/duet-rtc/duet/internal/clock"
	"github.com/duet-rtc/duet/protocol"
	"github.com/duet-rtc/duet/server/callflow"
	"github.com/duet-rtc/duet/server/route"
)

const app = "org#app"

// world has every device online and keeps what the engine sends, encoded.
type world struct {
	mu   sync.Mutex
	sent map[route.Device][]*protocol.Envelope
}

func (w *world) Apply(st *callflow.Step) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, s := range st.Sends {
		w.sent[s.To] = append(w.sent[s.To], Encode(s.Msg))
	}
}

func (w *world) Connected(route.Device) bool { return true }

func (w *world) OnlineDevices(app, user string) []route.Online {
	return []route.Online{{Device: route.Device{App: app, User: user, ID: user[:1] + "1"}, Capabilities: protocol.Capabilities{Audio: true, Video: true}}}
}

// take returns and forgets what d was sent.
func (w *world) take(d route.Device) []*protocol.Envelope {
	w.mu.Lock()
	defer w.mu.Unlock()
	got := w.sent[d]
	delete(w.sent, d)
	return got
}

func newRequests(t *testing.T) (Requests, *world, *clock.Fake) {
	w := &world{sent: map[route.Device][]*protocol.Envelope{}}
	clk := clock.NewFake(time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC))
	n := 0
	e := callflow.New(callflow.Config{Clock: clk, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		NewID: func() string { n++; return fmt.Sprintf("call-%d", n) }}, w, w, nil)
	t.Cleanup(e.Close)
	return Requests{Engine: e}, w, clk
}

func dev(user string) route.Device { return route.Device{App: app, User: user, ID: user[:1] + "1"} }

// reply returns the one reply (or error) d got.
func reply(t *testing.T, w *world, d route.Device) *protocol.Envelope {
	t.Helper()
	for _, env := range w.take(d) {
		if env.Type == protocol.TypeReply || env.Type == protocol.TypeError {
			return env
		}
	}
	t.Fatal("no reply")
	return nil
}

func TestUnknownAndMalformedRequests(t *testing.T) {
	r, w, _ := newRequests(t)
	a := dev("alice")
	if got := r.HandleMessage(a, nil); got == nil || got.Error.Code != protocol.CodeBadMessage {
		t.Fatalf("nil envelope: %+v", got)
	}
	for _, tc := range []struct {
		typ, data string
		code      protocol.ErrorCode
	}{
		{"call.dance", `{}`, protocol.CodeUnknownMessage},
		{protocol.TypeHello, `{}`, protocol.CodeUnknownMessage},
		{protocol.TypeCallAnswer, `{"callId":5}`, protocol.CodeBadMessage},
		{protocol.TypeCallEnd, `{"callId":5}`, protocol.CodeBadMessage},
		{protocol.TypeCallSignal, `{"callId":5}`, protocol.CodeBadMessage},
		{protocol.TypeCallConnect, `{"callId":5}`, protocol.CodeBadMessage},
		{protocol.TypeCallStream, `{"callId":5}`, protocol.CodeBadMessage},
		{protocol.TypeCallInvite, `{"to":5}`, protocol.CodeBadMessage},
		{protocol.TypeCallInvite, `{"to":"a b"}`, protocol.CodeInvalidUsername},
		{protocol.TypeCallInvite, `{"to":"bob","type":7}`, protocol.CodeBadMessage},
		// Unknown fields are ignored (a newer client's); the checks still run.
		{protocol.TypeCallInvite, `{"to":"bob","type":7,"x":1}`, protocol.CodeBadMessage},
		// A client may not claim a server-only reason.
		{protocol.TypeCallEnd, `{"callId":"x","reason":10}`, protocol.CodeBadMessage},
		{protocol.TypeCallSignal, `{"callId":"x"}`, protocol.CodeBadMessage},
		{protocol.TypeCallStream, `{"callId":"x","status":9}`, protocol.CodeBadMessage},
	} {
		got := r.HandleMessage(a, &protocol.Envelope{Type: tc.typ, ID: "rq", Data: json.RawMessage(tc.data)})
		if got == nil || got.Error == nil || got.Error.Code != tc.code || got.ID != "rq" {
			t.Fatalf("%s %s: %+v, want error %d", tc.typ, tc.data, got, tc.code)
		}
		// Without a request id the error still comes back, unsolicited.
		got = r.HandleMessage(a, &protocol.Envelope{Type: tc.typ, Data: json.RawMessage(tc.data)})
		if got == nil || got.Type != protocol.TypeError || got.Error.Code != tc.code {
			t.Fatalf("%s %s without an id: %+v", tc.typ, tc.data, got)
		}
	}
	if got := w.take(a); len(got) != 0 {
		t.Fatalf("refused requests reached the engine: %+v", got)
	}
}

// A decoded request's reply leaves through the engine's Output, in order with what it caused.
func TestRequestRepliesThroughTheEngine(t *testing.T) {
	r, w, _ := newRequests(t)
	a, b := dev("alice"), dev("bob")
	if got := r.HandleMessage(a, protocol.NewMessage(protocol.TypeCallInvite, "rq", &protocol.CallInvite{To: "bob"})); got != nil {
		t.Fatalf("HandleMessage returned %+v", got)
	}
	msgs := w.take(a)
	if len(msgs) != 2 || msgs[0].Type != protocol.TypeReply || msgs[0].ID != "rq" || msgs[1].Type != protocol.TypeCallRinging {
		t.Fatalf("caller got %+v", msgs)
	}
	var inv protocol.CallInvited
	if err := json.Unmarshal(msgs[0].Data, &inv); err != nil || inv.CallID != "call-1" {
		t.Fatalf("invite reply %s: %v", msgs[0].Data, err)
	}
	if got := w.take(b); len(got) != 1 || got[0].Type != protocol.TypeCallIncoming {
		t.Fatalf("callee got %+v", got)
	}
	r.HandleMessage(b, protocol.NewMessage(protocol.TypeCallAnswer, "", &protocol.CallRef{CallID: "call-1"}))
	r.HandleMessage(a, protocol.NewMessage(protocol.TypeCallEnd, "e", &protocol.CallEnd{CallID: "call-1"}))
	if got := reply(t, w, a); got.Error != nil || got.ID != "e" {
		t.Fatalf("end reply %+v", got)
	}
	if r.Engine.Active() != 0 {
		t.Fatal("the call did not end")
	}
}

func TestEncode(t *testing.T) {
	for _, tc := range []struct {
		m    callflow.Message
		want string
	}{
		{callflow.Message{Type: protocol.TypeCallEnded, Body: &protocol.CallEnded{CallID: "c", Reason: protocol.EndBusy}},
			`{"type":"call.ended","data":{"callId":"c","reason":3}}`},
		{callflow.Message{Type: protocol.TypeReply, ReplyTo: "7"}, `{"type":"reply","id":"7"}`},
		{callflow.Message{Type: protocol.TypeReply, ReplyTo: "7", Err: protocol.NewError(protocol.CodeCallInvalidID, "no")},
			`{"type":"reply","id":"7","error":{"code":800,"message":"no"}}`},
		{callflow.Message{Type: protocol.TypeReply, Err: protocol.NewError(protocol.CodeCallSelf, "self")},
			`{"type":"error","error":{"code":905,"message":"self"}}`},
	} {
		b, err := Encode(tc.m).Encode()
		if err != nil || string(b) != tc.want {
			t.Errorf("Encode(%+v) = %s (%v), want %s", tc.m, b, err, tc.want)
		}
	}
}

// FuzzRequests feeds hostile bodies of every type, from each party and a stranger, to a
// ringing call: nothing panics and the call still ends cleanly.
func FuzzRequests(f *testing.F) {
	for _, s := range []string{`{}`, `{"callId":"call-1"}`, `{"callId":"call-1","device":"b1","candidate":{"candidate":"x"}}`,
		`{"to":"bob","type":1}`, `{"callId":"call-1","reason":2}`, `{"callId":"call-1","status":3}`, `null`, `[]`, `{"callId":""}`} {
		for typ := range 7 {
			f.Add(uint8(typ), uint8(typ%3), []byte(s))
		}
	}
	types := []string{protocol.TypeCallInvite, protocol.TypeCallAnswer, protocol.TypeCallEnd, protocol.TypeCallSignal,
		protocol.TypeCallConnect, protocol.TypeCallStream, "call.x"}
	f.Fuzz(func(t *testing.T, typ, who uint8, data []byte) {
		r, _, clk := newRequests(t)
		devs := []route.Device{dev("alice"), dev("bob"), dev("carol")}
		r.HandleMessage(devs[0], protocol.NewMessage(protocol.TypeCallInvite, "i", &protocol.CallInvite{To: "bob", Type: protocol.CallVideo}))
		r.HandleMessage(devs[int(who)%len(devs)], &protocol.Envelope{Type: types[int(typ)%len(types)], ID: "x", Data: data})
		clk.Advance(time.Hour) // an accepted call lives on, without timers
		r.HandleMessage(devs[0], protocol.NewMessage(protocol.TypeCallEnd, "", &protocol.CallEnd{CallID: "call-1"}))
		if r.Engine.Active() != 0 || clk.Pending() != 0 {
			t.Fatalf("active %d, timers %d", r.Engine.Active(), clk.Pending())
		}
	})
}
