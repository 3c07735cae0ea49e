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
// quality: PartiesOf for 100 calls, each with both parties' samples of a call of `minutes`
// minutes (a sample every 2 s), from SQLite on disk. "live" sums the timelines up (calls
// in progress; "minutes=0" is calls nobody reported on: the baseline of an indexed lookup
// that finds nothing); "cached" reads calls that ended a while ago, whose summaries the
// Service keeps after the first read; "kept" is the first read after a restart, from the
// summaries kept in the store.
func BenchmarkRecordPage(b *testing.B) {
	for _, bc := range []struct {
		minutes int
		mode    string
	}{{0, "live"}, {1, "live"}, {10, "live"}, {10, "cached"}, {10, "kept"}} {
		b.Run(fmt.Sprintf("minutes=%d/%s", bc.minutes, bc.mode), func(b *testing.B) {
			st, err := sqlite.Open(filepath.Join(b.TempDir(), "duet.db"))
			if err != nil {
				b.Fatal(err)
			}
			defer func() { _ = st.Close() }()
			// A fake clock: the janitor's first run (a minute in) must not empty the cache
			// while the samples are being stored.
			clk := clock.NewFake(time.Now())
			svc := quality.New(quality.Config{Store: st, Clock: clk})
			defer svc.Close()
			ctx := context.Background()
			t0 := time.UnixMilli(1_780_000_000_000)
			refs := make([]quality.CallRef, 100)
			for c := range refs {
				refs[c] = quality.CallRef{ID: fmt.Sprintf("call%03d", c), Caller: "alice", Callee: "bob"}
				if bc.mode != "live" {
					refs[c].EndedAt = clk.Now().Add(-time.Minute).UnixMilli()
				}
				for _, user := range []string{"alice", "bob"} {
					dev := route.Device{App: "org#app", User: user, ID: user + "1"}
					for i := 0; i < bc.minutes*30; i += protocol.MaxQualitySamples {
						q := protocol.CallQuality{CallID: refs[c].ID}
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
			page := func(svc *quality.Service) {
				if _, err := svc.PartiesOf(ctx, "org#app", refs); err != nil {
					b.Fatal(err)
				}
			}
			if bc.mode != "live" {
				page(svc) // the first read of the page sums up, caches and keeps
			}
			b.ResetTimer()
			for range b.N {
				if bc.mode == "kept" {
					b.StopTimer()
					restarted := quality.New(quality.Config{Store: st, Clock: clk})
					b.StartTimer()
					page(restarted)
					restarted.Close()
					continue
				}
				page(svc)
			}
			b.StopTimer() // closing the store checkpoints its log: not the page's cost
		})
	}
}
