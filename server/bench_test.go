package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/duet-rtc/duet/protocol"
	"github.com/duet-rtc/duet/server"
	"github.com/duet-rtc/duet/server/servertest"
)

// userToken registers user in the demo app and logs it in over REST.
func userToken(tb testing.TB, srv *servertest.Server, user string) string {
	tb.Helper()
	srv.AddUser(user, "pw")
	body, _ := json.Marshal(map[string]string{"grant_type": "password", "username": user, "password": "pw"})
	status, reply := srv.Do(http.MethodPost, "/"+strings.Replace(srv.AppKey, "#", "/", 1)+"/token", "", body)
	if status != http.StatusOK {
		tb.Fatalf("token for %s: %d %s", user, status, reply)
	}
	var tr struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(reply, &tr); err != nil {
		tb.Fatal(err)
	}
	return tr.AccessToken
}

// rawDevice is a bare protocol client: no SDK, no media.
type rawDevice struct {
	ws  *websocket.Conn
	seq int
}

func dialDevice(ctx context.Context, url, token, device string) (*rawDevice, error) {
	ws, _, err := websocket.Dial(ctx, strings.Replace(url, "http", "ws", 1)+"/ws", nil)
	if err != nil {
		return nil, err
	}
	d := &rawDevice{ws: ws}
	hello := protocol.Hello{Version: protocol.Version, Token: token, DeviceID: device, Capabilities: protocol.Capabilities{Audio: true, Video: true}}
	if err := d.send(ctx, protocol.TypeHello, "h", hello); err != nil {
		return nil, err
	}
	env, err := d.read(ctx)
	if err != nil {
		return nil, err
	}
	if env.Error != nil {
		return nil, env.Error
	}
	return d, nil
}

func (d *rawDevice) send(ctx context.Context, typ, id string, body any) error {
	b, _ := protocol.NewMessage(typ, id, body).Encode()
	return d.ws.Write(ctx, websocket.MessageText, b)
}

func (d *rawDevice) read(ctx context.Context) (*protocol.Envelope, error) {
	_, b, err := d.ws.Read(ctx)
	if err != nil {
		return nil, err
	}
	return protocol.DecodeEnvelope(b)
}

// readUntil reads frames until one of type typ arrives.
func (d *rawDevice) readUntil(ctx context.Context, typ string) (*protocol.Envelope, error) {
	for {
		env, err := d.read(ctx)
		if err != nil {
			return nil, err
		}
		if env.Error != nil {
			return nil, env.Error
		}
		if env.Type == typ {
			return env, nil
		}
	}
}

// BenchmarkConnectAuth measures full device logins: WebSocket upgrade, hello with a real
// user token (account service and SQLite behind its cache), welcome, close. Two dialers
// per core run at once.
func BenchmarkConnectAuth(b *testing.B) {
	srv := servertest.Start(b)
	token := userToken(b, srv, "bench")
	var n atomic.Int64
	b.SetParallelism(2)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			d, err := dialDevice(ctx, srv.URL, token, fmt.Sprintf("dev-%d", n.Add(1)))
			if err != nil {
				b.Error(err)
				return
			}
			d.ws.CloseNow()
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "connects/s")
}

// BenchmarkSignallingCallCycle measures whole calls without media over real WebSockets:
// invite → incoming at the callee → answer → accepted → end → ended, on 16 caller/callee
// pairs at once, with every call record written to SQLite before the clock stops.
func BenchmarkSignallingCallCycle(b *testing.B) {
	// Each device here sends hundreds of messages a second, far past a phone's rate limit.
	srv := servertest.Start(b, func(c *server.Config) { c.DeviceRateLimit = -1 })
	const pairs = 16
	ctx := context.Background()
	type pair struct{ caller, callee *rawDevice }
	ps := make([]pair, pairs)
	for i := range ps {
		var err error
		callee := fmt.Sprintf("callee%d", i)
		if ps[i].caller, err = dialDevice(ctx, srv.URL, userToken(b, srv, fmt.Sprintf("caller%d", i)), "d"); err != nil {
			b.Fatal(err)
		}
		if ps[i].callee, err = dialDevice(ctx, srv.URL, userToken(b, srv, callee), "d"); err != nil {
			b.Fatal(err)
		}
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for i := range ps {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			p := ps[i]
			for next.Add(1) <= int64(b.N) {
				if err := callCycle(ctx, p.caller, p.callee, fmt.Sprintf("callee%d", i)); err != nil {
					b.Error(err)
					return
				}
			}
		}(i)
	}
	wg.Wait()
	srv.FlushCallRecords()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "calls/s")
}

func callCycle(ctx context.Context, caller, callee *rawDevice, to string) error {
	_, err := timedCallCycle(ctx, caller, callee, to)
	return err
}
