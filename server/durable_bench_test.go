package server

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/duet-rtc/duet/internal/clock"
	"github.com/duet-rtc/duet/protocol"
	"github.com/duet-rtc/duet/server/callflow"
	"github.com/duet-rtc/duet/server/route"
	"github.com/duet-rtc/duet/server/store"
	"github.com/duet-rtc/duet/server/store/sqlite"
)

// discardSender accepts every message for any device (the transport is not measured here).
type discardSender struct{}

func (discardSender) Send(route.Device, *protocol.Envelope) bool { return true }

// onlineEveryone says every user has one online device "d".
type onlineEveryone struct{}

func (onlineEveryone) OnlineDevices(app, user string) []route.Online {
	return []route.Online{{Device: route.Device{App: app, User: user, ID: "d"}, Capabilities: protocol.Capabilities{Audio: true, Video: true}}}
}

// BenchmarkDurableCallCycle measures the server's call path without the WebSocket transport:
// invite → answer → end through the real call flow, with callee lookups in SQLite and every
// call record written to SQLite (group commit) before the clock stops.
func BenchmarkDurableCallCycle(b *testing.B) {
	st, err := sqlite.Open(filepath.Join(b.TempDir(), "duet.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	const app = "demo#duet"
	if err := st.CreateApp(ctx, store.App{Key: app, Org: "demo", Name: "duet", ClientID: "c", ClientSecret: "s", Registration: store.RegistrationOpen, Created: time.Now()}); err != nil {
		b.Fatal(err)
	}
	var users []store.User
	for i := 0; i < 2; i++ {
		users = append(users, store.User{UUID: fmt.Sprint(i), App: app, Username: fmt.Sprintf("u%d", i), Activated: true, Created: time.Now(), Modified: time.Now()})
	}
	if err := st.CreateUsers(ctx, users); err != nil {
		b.Fatal(err)
	}
	rec := newCallRecorder(st, slog.New(slog.DiscardHandler))
	defer rec.Close()
	seq := 0
	nextID := func() string { seq++; return fmt.Sprintf("call-%d", seq) }
	eng := callflow.New(callflow.Config{Clock: clock.Real{}, Logger: slog.New(slog.DiscardHandler), NewID: nextID}, discardSender{}, onlineEveryone{}, userDirectory{st}, rec)
	defer eng.Close()
	caller := route.Device{App: app, User: "u0", ID: "d"}
	callee := route.Device{App: app, User: "u1", ID: "d"}
	invite := protocol.NewMessage(protocol.TypeCallInvite, "i", protocol.CallInvite{To: "u1", Type: protocol.CallVoice})
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		// A successful invite's reply goes out through the Sender; the ids are predictable.
		if r := eng.HandleMessage(caller, invite); r != nil && r.Error != nil {
			b.Fatal(r.Error)
		}
		callID := fmt.Sprintf("call-%d", i+1)
		if r := eng.HandleMessage(callee, protocol.NewMessage(protocol.TypeCallAnswer, "a", protocol.CallRef{CallID: callID})); r.Error != nil {
			b.Fatal(r.Error)
		}
		if r := eng.HandleMessage(caller, protocol.NewMessage(protocol.TypeCallEnd, "e", protocol.CallEnd{CallID: callID, Reason: protocol.EndHangup})); r.Error != nil {
			b.Fatal(r.Error)
		}
	}
	rec.Flush()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "calls/s")
}
