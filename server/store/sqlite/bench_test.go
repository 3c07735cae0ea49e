package sqlite

import (
	"context"
	"crypto/rand"
	"fmt"
	"testing"
	"time"

	"github.com/duet-rtc/duet/server/store"
	"github.com/duet-rtc/duet/server/store/storetest"
)

// BenchmarkSaveCalls measures durable call records per second, one transaction per batch.
func BenchmarkSaveCalls(b *testing.B) {
	for _, size := range []int{1, 100, 1000} {
		b.Run(fmt.Sprintf("batch=%d", size), func(b *testing.B) {
			ctx := context.Background()
			s, _ := openTest(b)
			batch := make([]store.CallRecord, size)
			n := 0
			b.ResetTimer()
			for b.Loop() {
				for i := range batch {
					n++
					batch[i] = storetest.Call("org#app", randomID(), fmt.Sprintf("u%d", n%1000), fmt.Sprintf("u%d", (n+1)%1000), t0.Add(time.Duration(n)*time.Millisecond))
				}
				if err := s.SaveCalls(ctx, batch); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "records/s")
		})
	}
}

// BenchmarkListCalls measures a first page of one user's calls among many.
func BenchmarkListCalls(b *testing.B) {
	ctx := context.Background()
	s, _ := openTest(b)
	batch := make([]store.CallRecord, 0, 1000)
	for n := range 50_000 {
		batch = append(batch, storetest.Call("org#app", fmt.Sprintf("call-%09d", n), fmt.Sprintf("u%d", n%1000), fmt.Sprintf("u%d", (n+1)%1000), t0.Add(time.Duration(n)*time.Millisecond)))
		if len(batch) == cap(batch) {
			if err := s.SaveCalls(ctx, batch); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	b.ResetTimer()
	for b.Loop() {
		if _, _, err := s.ListCalls(ctx, "org#app", store.CallFilter{User: "u7", Limit: 20}); err != nil {
			b.Fatal(err)
		}
	}
}

// randomID makes call ids as the call flow does: random, so primary key inserts land all
// over the index rather than at its end.
func randomID() string { return rand.Text()[:20] }
