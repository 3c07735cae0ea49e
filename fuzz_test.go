package duet

import (
	"testing"

	"github.com/duet-rtc/duet/internal/device"
)

// serverFrameSeeds are frames a server sends, well-formed and not.
var serverFrameSeeds = []string{
	`{"type":"call.incoming","data":{"callId":"c1","from":"bob","fromDevice":"b1","type":1,"ext":"x"}}`,
	`{"type":"call.signal","data":{"callId":"c1"}}`,
	`{"type":"call.signal","data":{"callId":"c1","description":{"type":"offer","sdp":"v=0"}}}`,
	`{"type":"call.signal","data":{"callId":"c1","candidate":{"candidate":"candidate:1 1 udp 1 127.0.0.1 9 typ host"}}}`,
	`{"type":"call.ringing","data":{"callId":"c1","device":"b1"}}`,
	`{"type":"call.accepted","data":{"callId":"c1","device":"b1"}}`,
	`{"type":"call.stream","data":{"callId":"c1","status":3}}`,
	`{"type":"call.media","data":{"callId":"c1","candidate":null}}`,
	`{"type":"call.offline","data":{"callId":"c1"}}`,
	`{"type":"call.peer","data":{"callId":"c1","present":false}}`,
	`{"type":"call.ended","data":{"callId":"c1","reason":2}}`,
	`{"type":"chat.message","data":{"id":"m1","seq":1,"from":"bob","text":"hi"}}`,
	`{"type":"kicked","data":{"reason":-5}}`,
	`{"type":"goodbye","data":{"reason":"restart","retryAfter":-1}}`,
	`{"type":"reply","id":"1","error":{"code":1,"message":"x"}}`,
	`{"type":"error","error":null}`,
	`{"type":"future.thing","data":{"callId":"c1"}}`,
}

// newFuzzClient is a logged-out client whose handlers the fuzz target drives directly.
func newFuzzClient(tb testing.TB) (*Client, *device.Conn) {
	c, err := NewClient(Options{AppKey: "org#app", ServerURL: "http://127.0.0.1:1", ICE: ICEOptions{LoopbackOnly: true}})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	conn := device.NewForTest(c.log, c.dispatch)
	return c, conn
}

// FuzzServerFrame: nothing a server sends panics the SDK, whatever the frame and whatever
// the call it names is doing.
func FuzzServerFrame(f *testing.F) {
	for _, s := range serverFrameSeeds {
		f.Add([]byte(s))
	}
	c, conn := newFuzzClient(f)
	incoming, _ := device.DecodeFrame([]byte(serverFrameSeeds[0]))
	f.Fuzz(func(t *testing.T, frame []byte) {
		env, err := device.DecodeFrame(frame)
		if err != nil {
			return
		}
		conn.Handle(incoming) // a call for the frame to act on
		conn.Handle(env)
		c.calls.endAllLocally(EndReasonHangup)
	})
}

// TestSignalWithoutBodyDoesNotPanic: a call.signal with neither description nor candidate
// dereferenced a nil description.
func TestSignalWithoutBodyDoesNotPanic(t *testing.T) {
	_, conn := newFuzzClient(t)
	for _, s := range serverFrameSeeds {
		env, err := device.DecodeFrame([]byte(s))
		if err != nil {
			t.Fatalf("seed %s: %v", s, err)
		}
		conn.Handle(env)
	}
}
