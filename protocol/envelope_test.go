package protocol

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestDecodeEnvelope(t *testing.T) {
	tests := []struct {
		name  string
		frame string
		ok    bool
		want  Envelope
	}{
		{"request", `{"type":"ping","id":"7"}`, true, Envelope{Type: "ping", ID: "7"}},
		{"with data", `{"type":"call.end","id":"x","data":{"callId":"c","reason":0}}`, true,
			Envelope{Type: "call.end", ID: "x", Data: json.RawMessage(`{"callId":"c","reason":0}`)}},
		{"error reply", `{"type":"reply","id":"1","error":{"code":902,"message":"slow"}}`, true,
			Envelope{Type: "reply", ID: "1", Error: &Error{Code: CodeRateLimited, Message: "slow"}}},
		{"whitespace", " {\n\"type\" : \"ping\" }\n", true, Envelope{Type: "ping"}},
		{"id of 64 bytes", `{"type":"ping","id":"` + strings.Repeat("i", 64) + `"}`, true, Envelope{Type: "ping", ID: strings.Repeat("i", 64)}},
		// A newer peer may add fields anywhere: they are ignored ("Compatibility").
		{"unknown field", `{"type":"ping","extra":{"a":[1]}}`, true, Envelope{Type: "ping"}},
		{"error unknown field", `{"type":"reply","error":{"code":1,"message":"","x":1}}`, true,
			Envelope{Type: "reply", Error: &Error{Code: CodeGeneral}}},
		{"same key in sibling objects", `{"type":"x","data":{"a":{"k":1},"b":{"k":1},"c":[{"k":1},{"k":2}]}}`, true,
			Envelope{Type: "x", Data: json.RawMessage(`{"a":{"k":1},"b":{"k":1},"c":[{"k":1},{"k":2}]}`)}},
		{"longest type", `{"type":"` + strings.Repeat("a", 32) + `"}`, true, Envelope{Type: strings.Repeat("a", 32)}},

		{"empty", ``, false, Envelope{}},
		{"not json", `hello`, false, Envelope{}},
		{"array", `[1]`, false, Envelope{}},
		{"null", `null`, false, Envelope{}},
		{"no type", `{"id":"1"}`, false, Envelope{}},
		{"empty type", `{"type":""}`, false, Envelope{}},
		{"upper-case type", `{"type":"Ping"}`, false, Envelope{}},
		{"type with digits", `{"type":"call2"}`, false, Envelope{}},
		{"type too long", `{"type":"` + strings.Repeat("a", 33) + `"}`, false, Envelope{}},
		{"type not a string", `{"type":1}`, false, Envelope{}},
		{"trailing object", `{"type":"ping"}{"type":"ping"}`, false, Envelope{}},
		{"trailing garbage", `{"type":"ping"} x`, false, Envelope{}},
		{"truncated", `{"type":"ping"`, false, Envelope{}},
		{"id too long", `{"type":"ping","id":"` + strings.Repeat("i", 65) + `"}`, false, Envelope{}},
		{"data array", `{"type":"ping","data":[]}`, false, Envelope{}},
		{"data string", `{"type":"ping","data":"x"}`, false, Envelope{}},
		{"data null", `{"type":"ping","data":null}`, false, Envelope{}},
		{"error not an object", `{"type":"reply","error":"x"}`, false, Envelope{}},
		// Well-formed JSON only: one value, each key once, UTF-8.
		{"trailing brace", `{"type":"ping"}}`, false, Envelope{}},
		{"trailing bracket", `{"type":"ping"}]`, false, Envelope{}},
		{"two values", `{"type":"ping"} {"type":"ping"}`, false, Envelope{}},
		{"duplicate key", `{"type":"ping","type":"call.end"}`, false, Envelope{}},
		{"duplicate key in data", `{"type":"ping","data":{"a":1,"b":{"a":1},"a":2}}`, false, Envelope{}},
		{"duplicate key in error", `{"type":"reply","error":{"code":1,"code":2}}`, false, Envelope{}},
		{"invalid UTF-8 in data", "{\"type\":\"chat.send\",\"data\":{\"text\":\"a\xff\"}}", false, Envelope{}},
		{"invalid UTF-8 in a key", "{\"type\":\"ping\",\"\xc3\":1}", false, Envelope{}},
		{"over MaxFrameBytes", `{"type":"ping","data":{"s":"` + strings.Repeat("x", MaxFrameBytes) + `"}}`, false, Envelope{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env, err := DecodeEnvelope([]byte(tc.frame))
			if !tc.ok {
				if err == nil {
					t.Fatalf("decoded %+v, want an error", env)
				}
				if CodeOf(err) != CodeBadMessage {
					t.Fatalf("code %d, want CodeBadMessage (%v)", CodeOf(err), err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if env.Type != tc.want.Type || env.ID != tc.want.ID || string(env.Data) != string(tc.want.Data) ||
				fmt.Sprint(env.Error) != fmt.Sprint(tc.want.Error) {
				t.Fatalf("got %+v, want %+v", env, tc.want)
			}
		})
	}
}

func TestDecodeData(t *testing.T) {
	env := func(data string) *Envelope { return &Envelope{Type: "x", Data: json.RawMessage(data)} }

	var ref CallRef
	if err := env(`{"callId":"c-1"}`).DecodeData(&ref); err != nil || ref.CallID != "c-1" {
		t.Fatalf("CallRef %+v, %v", ref, err)
	}
	// Missing data is an empty object: then Check decides.
	var pong Pong
	if err := (&Envelope{Type: "x"}).DecodeData(&pong); err != nil {
		t.Fatalf("Pong from no data: %v", err)
	}
	if err := (&Envelope{Type: "x"}).DecodeData(new(CallRef)); CodeOf(err) != CodeCallInvalidID {
		t.Fatalf("CallRef from no data: %v, want CodeCallInvalidID", err)
	}
	if err := env(`{"callId":"c-2","future":{"x":1}}`).DecodeData(&ref); err != nil || ref.CallID != "c-2" {
		t.Fatalf("CallRef with an unknown field: %+v, %v", ref, err)
	}
	for _, data := range []string{`{"callId":1}`, `{"callId":"c"} {}`, `[]`} {
		if err := env(data).DecodeData(&ref); CodeOf(err) != CodeBadMessage {
			t.Errorf("%s: %v, want CodeBadMessage", data, err)
		}
	}
	// The Check of the body runs.
	var end CallEnd
	if err := env(`{"callId":"c","reason":6}`).DecodeData(&end); CodeOf(err) != CodeBadMessage {
		t.Fatalf("CallEnd with a server reason: %v", err)
	}
	// Loose decoding ignores unknown fields.
	var w Welcome
	if err := env(`{"version":1,"future":true}`).DecodeDataLoose(&w); err != nil || w.Version != 1 {
		t.Fatalf("DecodeDataLoose %+v, %v", w, err)
	}
}

func TestReplies(t *testing.T) {
	r := NewReply("7", Pong{ServerTime: 42})
	if r.Type != TypeReply || r.ID != "7" || string(r.Data) != `{"serverTime":42}` || r.Error != nil {
		t.Fatalf("NewReply %+v", r)
	}
	b, err := r.Encode()
	if err != nil || string(b) != `{"type":"reply","id":"7","data":{"serverTime":42}}` {
		t.Fatalf("Encode %s, %v", b, err)
	}

	e := NewErrorReply("8", NewError(CodeCallBusy, "busy"))
	if e.Type != TypeReply || e.ID != "8" || e.Error.Code != CodeCallBusy {
		t.Fatalf("NewErrorReply %+v", e)
	}
	if u := NewErrorReply("", NewError(CodeBadMessage, "bad")); u.Type != TypeError || u.ID != "" {
		t.Fatalf("unsolicited error %+v", u)
	}
	if g := NewErrorReply("9", errors.New("plain")); g.Error.Code != CodeGeneral || g.Error.Message != "plain" {
		t.Fatalf("uncoded error %+v", g.Error)
	}
	if m := NewMessage("x", "", make(chan int)); m.Error == nil || m.Error.Code != CodeGeneral {
		t.Fatalf("unencodable body %+v", m)
	}
	if m := NewMessage("x", "", nil); m.Data != nil {
		t.Fatalf("nil body %+v", m)
	}
}

func TestErrors(t *testing.T) {
	err := fmt.Errorf("ringing: %w", NewError(CodeCallBusy, "bob is busy %d", 1))
	if CodeOf(err) != CodeCallBusy {
		t.Fatalf("CodeOf a wrapped error: %d", CodeOf(err))
	}
	if !errors.Is(err, &Error{Code: CodeCallBusy}) || errors.Is(err, &Error{Code: CodeCallRemoteOffline}) {
		t.Fatal("errors.Is must match by code alone")
	}
	if CodeOf(nil) != 0 || CodeOf(errors.New("x")) != CodeGeneral {
		t.Fatal("CodeOf of nil or an uncoded error")
	}
	if s := NewError(CodeCallBusy, "busy").Error(); s != "duet error 801: busy" {
		t.Fatalf("Error() = %q", s)
	}
}
