package quality_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/duet-rtc/duet/internal/clock"
	"github.com/duet-rtc/duet/protocol"
	"github.com/duet-rtc/duet/server/quality"
	"github.com/duet-rtc/duet/server/route"
	"github.com/duet-rtc/duet/server/store/sqlite"
)

// BenchmarkRecordPage is what one page of GET /{org}/{app}/calls (100 records) costs in
// quality: Parties for 100 calls, each with both parties' samples of a call of `minutes`
// minutes (a sample every 2 s), from SQLite on disk. The "none" case is calls nobody
// reported on: the baseline of an indexed lookup that finds nothing. "cached" reads calls
// that ended long ago, whose summaries the Service keeps after the first read.
func BenchmarkRecordPage(b *testing.B) {
	for _, bc := range []struct {
		minutes int
		cached  bool
	}{{0, false}, {1, false}, {10, false}, {10, true}} {
		minutes := bc.minutes
		endedAt := int64(0)
		if bc.cached {
			endedAt = 1
		}
		b.Run(fmt.Sprintf("minutes=%d/cached=%v", minutes, bc.cached), func(b *testing.B) {
			st, err := sqlite.Open(filepath.Join(b.TempDir(), "duet.db"))
			if err != nil {
				b.Fatal(err)
			}
			defer func() { _ = st.Close() }()
			// A fake clock: the janitor's first run (a minute in) must not empty the cache
			// while the samples are being stored.
			svc := quality.New(quality.Config{Store: st, Clock: clock.NewFake(time.Now())})
			defer svc.Close()
			ctx := context.Background()
			t0 := time.UnixMilli(1_780_000_000_000)
			for c := range 100 {
				id := fmt.Sprintf("call%03d", c)
				for _, user := range []string{"alice", "bob"} {
					dev := route.Device{App: "org#app", User: user, ID: user + "1"}
					for i := 0; i < minutes*30; i += protocol.MaxQualitySamples {
						q := protocol.CallQuality{CallID: id}
						for j := range protocol.MaxQualitySamples {
							at := t0.Add(time.Duration(i+j) * 2 * time.Second)
							q.Samples = append(q.Samples, protocol.QualitySample{At: at.UnixMilli(), RTTMs: 40, LossIn: 0.01, JitterMs: 5, ConnectType: protocol.ConnectDirect})
						}
						if err := svc.Add(ctx, dev, q); err != nil {
							b.Fatal(err)
						}
					}
				}
			}
			page := func() {
				for c := range 100 {
					if _, err := svc.Parties(ctx, "org#app", fmt.Sprintf("call%03d", c), "alice", "bob", endedAt); err != nil {
						b.Fatal(err)
					}
				}
			}
			if bc.cached {
				page() // the first read of the page fills the cache
			}
			b.ResetTimer()
			for range b.N {
				page()
			}
			b.StopTimer() // closing the store checkpoints its log: not the page's cost
		})
	}
}
