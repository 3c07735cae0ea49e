package server

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/duet-rtc/duet/internal/clock"
	"github.com/duet-rtc/duet/protocol"
	"github.com/duet-rtc/duet/server/callflow"
	"github.com/duet-rtc/duet/server/route"
	"github.com/duet-rtc/duet/server/store"
	"github.com/duet-rtc/duet/server/store/postgres/pgtest"
	"github.com/duet-rtc/duet/server/store/sqlite"
)

// benchDevices says every user has one connected device "d".
type benchDevices struct{}

func (benchDevices) Connected(route.Device) bool { return true }
func (benchDevices) OnlineDevices(app, user string) []route.Online {
	return []route.Online{{Device: route.Device{App: app, User: user, ID: "d"}, Capabilities: protocol.Capabilities{Audio: true, Video: true}}}
}

// benchReplies hands every reply a user gets to that user's channel: the benchmark's
// clients wait for their replies, as SDKs do.
type benchReplies struct {
	mu sync.Mutex
	ch map[string]chan *protocol.Envelope
}

func (r *benchReplies) of(user string) chan *protocol.Envelope {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.ch[user]
	if c == nil {
		c = make(chan *protocol.Envelope, 8)
		r.ch[user] = c
	}
	return c
}

func (r *benchReplies) send(to route.Device, env *protocol.Envelope) bool {
	if env.Type == protocol.TypeReply {
		r.of(to.User) <- env
	}
	return true
}

// benchStore makes a store with an app and users u0 … u(n-1).
func benchStore(b *testing.B, st store.Backend, n int) {
	ctx := context.Background()
	if err := st.CreateApp(ctx, store.App{Key: benchApp, Org: "demo", Name: "duet", ClientID: "c", ClientSecret: "s", Registration: store.RegistrationOpen, Created: time.Now()}); err != nil {
		b.Fatal(err)
	}
	users := make([]store.User, n)
	for i := range users {
		users[i] = store.User{UUID: fmt.Sprint(i), App: benchApp, Username: fmt.Sprintf("u%d", i), Activated: true, Created: time.Now(), Modified: time.Now()}
	}
	if err := st.CreateUsers(ctx, users); err != nil {
		b.Fatal(err)
	}
}

const benchApp = "demo#duet"

// forgetfulStore drops every call step: the baseline of BenchmarkDurableCallCycle.
type forgetfulStore struct{ store.Backend }

func (forgetfulStore) CommitCalls(context.Context, store.CallBatch, time.Time) error { return nil }

// BenchmarkDurableCallCycle measures the server's call path without the WebSocket
// transport, as clients see it: concurrent callers each run invite → answer → end and wait
// for every reply, and a reply only leaves once the step it answers is in the store (group
// commit of live call state, records and webhook events). It reports cycles/s and the
// latency of an end (call.end to its reply: the commit that a durable end costs).
func BenchmarkDurableCallCycle(b *testing.B) {
	// The baseline: the same path with a store that keeps nothing (users are looked up in
	// SQLite as in the others), so the difference is what storing each step costs.
	b.Run("no-store", func(b *testing.B) {
		st, err := sqlite.Open(filepath.Join(b.TempDir(), "duet.db"))
		if err != nil {
			b.Fatal(err)
		}
		defer st.Close()
		benchDurableCycles(b, forgetfulStore{st})
	})
	b.Run("sqlite", func(b *testing.B) {
		st, err := sqlite.Open(filepath.Join(b.TempDir(), "duet.db"))
		if err != nil {
			b.Fatal(err)
		}
		defer st.Close()
		benchDurableCycles(b, st)
	})
	b.Run("postgres", func(b *testing.B) { benchDurableCycles(b, pgtest.New(b)) })
}

func benchDurableCycles(b *testing.B, st store.Backend) {
	const parallelism = 16 // goroutines per P: 32 concurrent callers on 2 cores
	pairs := parallelism * 2 * 8
	benchStore(b, st, 2*pairs)
	replies := &benchReplies{ch: map[string]chan *protocol.Envelope{}}
	log := slog.New(slog.DiscardHandler)
	steps := newStepCommitter(st, &stepCommitter{send: replies.send, clk: clock.Real{}, log: log})
	defer steps.Close()
	eng := callflow.New(callflow.Config{Clock: clock.Real{}, Logger: log}, steps, benchDevices{}, userDirectory{st})
	defer eng.Close()

	var next atomic.Int64
	var latMu sync.Mutex
	var lat []time.Duration
	b.SetParallelism(parallelism)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		n := int(next.Add(1)-1) % pairs
		caller := route.Device{App: benchApp, User: fmt.Sprintf("u%d", 2*n), ID: "d"}
		callee := route.Device{App: benchApp, User: fmt.Sprintf("u%d", 2*n+1), ID: "d"}
		var mine []time.Duration
		for pb.Next() {
			mine = append(mine, durableCycle(b, eng, replies, caller, callee))
		}
		latMu.Lock()
		lat = append(lat, mine...)
		latMu.Unlock()
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "cycles/s")
	slices.Sort(lat)
	if len(lat) > 0 {
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "end-p50-µs")
		b.ReportMetric(float64(lat[len(lat)*95/100].Microseconds()), "end-p95-µs")
	}
}

// durableCycle runs one call and returns how long its end took to be answered.
func durableCycle(b *testing.B, eng *callflow.Engine, replies *benchReplies, caller, callee route.Device) time.Duration {
	eng.Invite(caller, "i", protocol.CallInvite{To: callee.User, Type: protocol.CallVoice})
	var inv protocol.CallInvited
	if r := <-replies.of(caller.User); r.Error != nil || json.Unmarshal(r.Data, &inv) != nil {
		b.Fatalf("invite: %+v", r.Error)
	}
	eng.Answer(callee, "a", inv.CallID)
	if r := <-replies.of(callee.User); r.Error != nil {
		b.Fatalf("answer: %+v", r.Error)
	}
	start := time.Now()
	eng.End(caller, "e", protocol.CallEnd{CallID: inv.CallID, Reason: protocol.EndHangup})
	if r := <-replies.of(caller.User); r.Error != nil {
		b.Fatalf("end: %+v", r.Error)
	}
	return time.Since(start)
}
