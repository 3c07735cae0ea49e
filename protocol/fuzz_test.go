package protocol

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
)

// bodies makes a fresh value of every message body type, for decoding any frame's data into.
var bodies = []func() any{
	func() any { return new(Hello) },
	func() any { return new(Welcome) },
	func() any { return new(Pong) },
	func() any { return new(Kicked) },
	func() any { return new(Goodbye) },
	func() any { return new(CallInvite) },
	func() any { return new(CallInvited) },
	func() any { return new(CallIncoming) },
	func() any { return new(CallRinging) },
	func() any { return new(CallRef) },
	func() any { return new(CallAccepted) },
	func() any { return new(CallEnd) },
	func() any { return new(CallEnded) },
	func() any { return new(CallSignal) },
	func() any { return new(CallConnect) },
	func() any { return new(CallStream) },
	func() any { return new(CallOffline) },
	func() any { return new(CallPeer) },
}

// FuzzDecodeEnvelope feeds arbitrary frames to the strict decoders. They must never panic; a
// frame that decodes must survive a round trip (encode, decode) unchanged, and so must any
// message body decoded from it. Run it with a short -fuzzminimizetime (2s): minimizing a new
// input otherwise takes up to a minute, during which the fuzzer seems to stall.
func FuzzDecodeEnvelope(f *testing.F) {
	f.Add([]byte(`{"type":"ping","id":"1"}`))
	f.Add([]byte(`{"type":"call.ringing","data":{"callId":"c","device":"d"}}`))
	f.Add([]byte(`{"type":"reply","id":"x","data":{},"error":{"code":1,"message":""}}`))
	f.Fuzz(func(t *testing.T, frame []byte) {
		env, err := DecodeEnvelope(frame)
		if err != nil {
			if env != nil {
				t.Fatalf("an envelope and an error: %+v, %v", env, err)
			}
			if CodeOf(err) != CodeBadMessage {
				t.Fatalf("error code %d, want CodeBadMessage: %v", CodeOf(err), err)
			}
			return
		}
		enc1, err := env.Encode()
		if err != nil {
			t.Fatalf("a decoded envelope does not encode: %v", err)
		}
		env2, err := DecodeEnvelope(enc1)
		if err != nil {
			t.Fatalf("a re-encoded envelope does not decode: %v\nframe %q\nencoded %q", err, frame, enc1)
		}
		if env2.Type != env.Type || env2.ID != env.ID || !reflect.DeepEqual(env2.Error, env.Error) ||
			!sameJSON(t, env.Data, env2.Data) {
			t.Fatalf("round trip changed the envelope:\n%+v\n%+v", env, env2)
		}
		enc2, err := env2.Encode()
		if err != nil || !bytes.Equal(enc1, enc2) {
			t.Fatalf("encoding is not stable: %q then %q (%v)", enc1, enc2, err)
		}

		for _, mk := range bodies {
			v := mk()
			if err := env.DecodeData(v); err != nil {
				if CodeOf(err) == CodeGeneral || CodeOf(err) == 0 {
					t.Fatalf("DecodeData(%T) returned an uncoded error: %v", v, err)
				}
				continue
			}
			b1, err := json.Marshal(v)
			if err != nil {
				t.Fatalf("a decoded %T does not encode: %v", v, err)
			}
			w := mk()
			if err := (&Envelope{Type: env.Type, Data: b1}).DecodeData(w); err != nil {
				t.Fatalf("a re-encoded %T does not decode: %v\ndata %q\nencoded %q", v, err, env.Data, b1)
			}
			if b2, _ := json.Marshal(w); !bytes.Equal(b1, b2) {
				t.Fatalf("%T round trip: %q then %q", v, b1, b2)
			}
		}
	})
}

// sameJSON reports whether a and b hold the same JSON value (numbers compared as written).
func sameJSON(t *testing.T, a, b json.RawMessage) bool {
	t.Helper()
	if len(a) == 0 || len(b) == 0 {
		return len(a) == len(b)
	}
	va, erra := decodeAny(a)
	vb, errb := decodeAny(b)
	if erra != nil || errb != nil {
		t.Fatalf("data is not JSON: %v / %v", erra, errb)
	}
	return reflect.DeepEqual(va, vb)
}

func decodeAny(b []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	err := d.Decode(&v)
	return v, err
}
