package abuse_test

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/duet-rtc/duet/server"
	"github.com/duet-rtc/duet/server/servertest"
)

// seeds are frames a device may send, valid or nearly so; the fuzzer mutates them.
var seeds = []string{
	`{"type":"ping","id":"p"}`,
	`{"type":"hello","id":"h","data":{"version":1,"token":"TOKEN","deviceId":"m1"}}`,
	`{"type":"call.invite","id":"i","data":{"to":"alice","type":1}}`,
	`{"type":"call.invite","id":"i","data":{"to":"mallory","type":0,"record":true,"mergeStream":true}}`,
	`{"type":"call.answer","id":"a","data":{"callId":"CALL"}}`,
	`{"type":"call.end","id":"e","data":{"callId":"CALL","reason":2}}`,
	`{"type":"call.signal","data":{"callId":"CALL","to":"d1","kind":"sdp","sdp":{"type":"offer","sdp":"v=0"}}}`,
	`{"type":"call.connect","data":{"callId":"CALL"}}`,
	`{"type":"call.stream","data":{"callId":"CALL","status":2}}`,
	`{"type":"chat.send","id":"c","data":{"to":"alice","text":"hi","ext":{"k":"v"}}}`,
	`{"type":"chat.ack","data":{"seq":1}}`,
	`{"type":"push.bind","id":"b","data":{"provider":"apns","token":"abcd","voip":true}}`,
	`{"type":"push.unbind","id":"u","data":{}}`,
	`{"type":"call.media","id":"m","data":{"callId":"CALL","sdp":{"type":"offer","sdp":"v=0"}}}`,
}

// junk are values spliced into frames.
var junk = []string{
	`null`, `true`, `-1`, `1e309`, `9223372036854775808`, `""`, `"\u0000"`, `"\ud800"`, "\"\xff\xfe\"",
	`[]`, `{}`, `[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]`, `"` + strings.Repeat("A", 70000) + `"`,
	`{"type":"ping"}{"type":"ping"}`, `{"type":"ping","type":"hello"}`,
}

// mutate returns a variation of a seed frame.
func mutate(rng *rand.Rand, token, callID string) []byte {
	f := seeds[rng.IntN(len(seeds))]
	f = strings.ReplaceAll(strings.ReplaceAll(f, "TOKEN", token), "CALL", callID)
	b := []byte(f)
	switch rng.IntN(8) {
	case 0: // as is
	case 1: // truncated
		b = b[:rng.IntN(len(b))]
	case 2: // a few bytes flipped
		for range 1 + rng.IntN(4) {
			b[rng.IntN(len(b))] = byte(rng.IntN(256))
		}
	case 3: // a value replaced by junk
		if i := strings.IndexByte(f, ':'); i > 0 {
			j := strings.LastIndexByte(f, ':')
			at := []int{i, j}[rng.IntN(2)] + 1
			end := at + strings.IndexAny(f[at:], ",}")
			if end > at {
				b = []byte(f[:at] + junk[rng.IntN(len(junk))] + f[end:])
			}
		}
	case 4: // pure junk
		b = []byte(junk[rng.IntN(len(junk))])
	case 5: // random bytes
		b = make([]byte, rng.IntN(200))
		for i := range b {
			b[i] = byte(rng.IntN(256))
		}
	case 6: // trailing data
		b = append(b, []byte(junk[rng.IntN(len(junk))])...)
	case 7: // doubled
		b = append(b, b...)
	}
	return b
}

// TestDeviceConnectionFuzz sends 60 connections' worth of mutated frames (deterministic
// seed, about 2,000 frames, some connections authenticated) while a control device of
// another user pings after every connection: it must keep working, and the server must
// keep serving REST and new devices.
func TestDeviceConnectionFuzz(t *testing.T) {
	panics := &panicWatch{}
	s := servertest.Start(t, func(c *server.Config) { c.Logger = slog.New(panics) })
	s.AddUser("alice", "secret-1")
	s.AddUser("mallory", "secret-2")
	control := connect(t, s, login(t, s, "alice", "secret-1"), "control")
	token := login(t, s, "mallory", "secret-2")
	rng := rand.New(rand.NewPCG(15, 2026))
	frames, authed := 0, 0
	start := time.Now()
	for round := range 60 {
		ws, err := dialFrom(t, s, "127.0.0.2")
		if err != nil {
			t.Fatalf("round %d: dial: %v", round, err)
		}
		if round%2 == 0 { // half the rounds fuzz after a valid hello
			d := &device{t: t, ws: ws}
			d.send("hello", map[string]any{"version": 1, "token": token, "deviceId": fmt.Sprintf("m%d", round%7)})
			authed++
		}
		go func() { // drain what the server answers, so that the attacker is not a slow consumer
			for {
				if _, _, err := ws.Read(context.Background()); err != nil {
					return
				}
			}
		}()
		for range 10 + rng.IntN(40) {
			typ := websocket.MessageText
			if rng.IntN(20) == 0 {
				typ = websocket.MessageBinary
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			err := ws.Write(ctx, typ, mutate(rng, token, "C"+fmt.Sprint(rng.IntN(3))))
			cancel()
			if err != nil {
				break // the server closed it: too many bad frames, a frame too big...
			}
			frames++
		}
		ws.CloseNow()
		if err := control.ping(); err != nil {
			t.Fatalf("round %d: the control device stopped working: %v", round, err)
		}
	}
	t.Logf("%d frames over 60 connections (%d authenticated) in %v; the control device answered after each", frames, authed, time.Since(start))
	if status, body := s.Do(http.MethodGet, "/healthz", "", nil); status != http.StatusOK {
		t.Fatalf("healthz: %d %s", status, body)
	}
	connect(t, s, login(t, s, "alice", "secret-1"), "after")
	if n := panics.count.Load(); n > 0 {
		t.Fatalf("the server recovered from %d panics on client input", n)
	}
}

// panicWatch is a log handler that counts the server's reports of recovered panics.
type panicWatch struct{ count atomic.Int64 }

func (*panicWatch) Enabled(context.Context, slog.Level) bool { return true }
func (p *panicWatch) Handle(_ context.Context, r slog.Record) error {
	if strings.Contains(r.Message, "panic") {
		p.count.Add(1)
	}
	return nil
}
func (p *panicWatch) WithAttrs([]slog.Attr) slog.Handler { return p }
func (p *panicWatch) WithGroup(string) slog.Handler      { return p }
