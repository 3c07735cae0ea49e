package storetest_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/duet-rtc/duet/server/store"
	"github.com/duet-rtc/duet/server/store/postgres/pgtest"
	"github.com/duet-rtc/duet/server/store/sqlite"
	"github.com/duet-rtc/duet/server/store/storetest"
)

// BenchmarkCommitCalls measures one group commit of a busy moment, on SQLite and on
// PostgreSQL in the same run: 16 live calls saved, 16 calls ended (record written, live
// row deleted) and 32 call events fanned out to the app's one webhook endpoint. The
// PostgreSQL case is skipped without DUET_TEST_POSTGRES.
func BenchmarkCommitCalls(b *testing.B) {
	b.Run("store=sqlite", func(b *testing.B) {
		s, err := sqlite.Open(filepath.Join(b.TempDir(), "duet.db"))
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		benchCommitCalls(b, s)
	})
	b.Run("store=postgres", func(b *testing.B) { benchCommitCalls(b, pgtest.New(b)) })
}

func benchCommitCalls(b *testing.B, s store.Backend) {
	ctx := context.Background()
	t0 := time.UnixMilli(1_760_000_000_000).UTC()
	const app = "org#app"
	if err := s.CreateApp(ctx, store.App{Key: app, ClientID: "id", Registration: store.RegistrationOpen, Created: t0}); err != nil {
		b.Fatal(err)
	}
	if err := s.PutWebhookEndpoint(ctx, store.WebhookEndpoint{App: app, ID: "e1", URL: "https://a.example/hook", Created: t0}); err != nil {
		b.Fatal(err)
	}
	// Each round starts 16 calls and ends the 16 of the round before, as a server at a
	// steady rate of calls does.
	const calls = 16
	round := 0
	batch := func() store.CallBatch {
		var cb store.CallBatch
		for i := range calls {
			at := t0.Add(time.Duration(round) * time.Second)
			cb.Save = append(cb.Save, storetest.LiveCall(app, fmt.Sprintf("r%d-c%d", round, i), at))
			if round > 0 {
				cb.End = append(cb.End, storetest.Call(app, fmt.Sprintf("r%d-c%d", round-1, i), "alice", "bob", at))
			}
			for _, typ := range []string{"call.start", "call.end"} {
				cb.Events = append(cb.Events, store.WebhookEvent{App: app, CallID: fmt.Sprintf("r%d-c%d", round, i),
					EventID: fmt.Sprintf("r%d-c%d-%s", round, i, typ), Type: typ, Body: []byte(`{"type":"` + typ + `","data":{}}`)})
			}
		}
		round++
		return cb
	}
	if err := s.CommitCalls(ctx, batch(), t0); err != nil { // round 0: nothing to end yet
		b.Fatal(err)
	}
	for b.Loop() {
		b.StopTimer()
		cb := batch()
		b.StartTimer()
		if err := s.CommitCalls(ctx, cb, t0); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "batches/s")
}
