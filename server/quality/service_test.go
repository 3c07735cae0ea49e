package quality_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/duet-rtc/duet/internal/clock"
	"github.com/duet-rtc/duet/protocol"
	"github.com/duet-rtc/duet/server/quality"
	"github.com/duet-rtc/duet/server/route"
	"github.com/duet-rtc/duet/server/store"
	"github.com/duet-rtc/duet/server/store/sqlite"
)

// TestRetentionAndBound: samples are pruned once older than the retention (the hourly
// janitor), like recordings; a device's timeline of a call is bounded, and what goes over
// the bound is refused with 900 and not stored; the records' summaries go with the samples.
func TestRetentionAndBound(t *testing.T) {
	st, clk := openStore(t)
	t0 := clk.Now()
	svc := quality.New(quality.Config{Store: st, Clock: clk, Retention: 2 * time.Hour, MaxSamples: 3})
	defer svc.Close()
	ctx := context.Background()
	alice := route.Device{App: "org#app", User: "alice", ID: "a1"}
	sample := func(at time.Time, loss float64) protocol.QualitySample {
		return protocol.QualitySample{At: at.UnixMilli(), RTTMs: 30, LossIn: loss, ConnectType: protocol.ConnectDirect}
	}
	old := protocol.CallQuality{CallID: "old", Samples: []protocol.QualitySample{sample(t0, 0.1), sample(t0.Add(2*time.Second), 0.2)}}
	if err := svc.Add(ctx, alice, old); err != nil {
		t.Fatal(err)
	}
	if !svc.Reported("org#app", "old") || svc.Reported("org#app", "other") {
		t.Fatal("Reported does not know which calls have samples")
	}
	// Over the bound: 2 stored + 2 more > 3.
	var perr *protocol.Error
	if err := svc.Add(ctx, alice, old); !errors.As(err, &perr) || perr.Code != protocol.CodeBadMessage {
		t.Fatalf("over the bound: %v, want 900", err)
	}
	q, err := svc.Parties(ctx, "org#app", "old", "alice", "bob", 0)
	if err != nil || q == nil || q.Caller == nil || q.Callee != nil || q.Caller.Samples != 2 || q.Caller.LossInMax != 0.2 {
		t.Fatalf("parties %+v, %v", q, err)
	}

	clk.Advance(90 * time.Minute)
	recent := protocol.CallQuality{CallID: "recent", Samples: []protocol.QualitySample{sample(clk.Now(), 0)}}
	if err := svc.Add(ctx, alice, recent); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Hour) // the janitor runs: "old" is 2h30 old, "recent" 1 h
	if q, err := svc.Parties(ctx, "org#app", "old", "alice", "bob", 0); err != nil || q != nil {
		t.Fatalf("samples past the retention: %+v, %v", q, err)
	}
	if rep, err := svc.Report(ctx, "org#app", "recent"); err != nil || len(rep.Parties) != 1 {
		t.Fatalf("samples within the retention: %+v, %v", rep, err)
	}
	if svc.Reported("org#app", "old") {
		t.Fatal("a call quiet for an hour is still remembered")
	}
	// A call restored from the store may have samples another process stored.
	svc.Resumed("org#app", "restored")
	if !svc.Reported("org#app", "restored") {
		t.Fatal("a resumed call is not taken as reported on")
	}
}

// TestSettledSummariesCached: a call that ended more than a few seconds ago has final
// summaries, kept in a cache (the records' pages read them often); a call that just ended
// or is live is read each time; pruning samples empties the cache.
func TestSettledSummariesCached(t *testing.T) {
	st, clk := openStore(t)
	t0 := clk.Now()
	svc := quality.New(quality.Config{Store: st, Clock: clk, Retention: time.Hour})
	defer svc.Close()
	ctx := context.Background()
	bob := route.Device{App: "org#app", User: "bob", ID: "b1"}
	add := func(at time.Time, loss float64) {
		t.Helper()
		q := protocol.CallQuality{CallID: "c", Samples: []protocol.QualitySample{{At: at.UnixMilli(), LossIn: loss}}}
		if err := svc.Add(ctx, bob, q); err != nil {
			t.Fatal(err)
		}
	}
	callee := func(endedAt int64) *quality.Summary {
		t.Helper()
		q, err := svc.Parties(ctx, "org#app", "c", "alice", "bob", endedAt)
		if err != nil || q == nil || q.Callee == nil || q.Caller != nil {
			t.Fatalf("parties %+v, %v", q, err)
		}
		return q.Callee
	}
	add(t0, 0.1)
	justEnded := clk.Now().UnixMilli()
	if s := callee(justEnded); s.Samples != 1 {
		t.Fatalf("just ended: %+v", s)
	}
	add(t0.Add(time.Second), 0.3) // stored a moment after the end: counts
	if s := callee(justEnded); s.Samples != 2 {
		t.Fatalf("a sample stored just after the end is missing: %+v", s)
	}
	clk.Advance(30 * time.Second)
	if s := callee(justEnded); s.Samples != 2 || s.LossInMax != 0.3 {
		t.Fatalf("settled: %+v", s)
	}
	add(t0.Add(2*time.Second), 0.9) // the server refuses these; here it shows the cache
	if s := callee(justEnded); s.Samples != 2 {
		t.Fatalf("a settled call's summary was read again: %+v", s)
	}
	if s := callee(0); s.Samples != 3 {
		t.Fatalf("a live call's summary came from the cache: %+v", s)
	}
	clk.Advance(2 * time.Hour) // the janitor prunes every sample
	if q, err := svc.Parties(ctx, "org#app", "c", "alice", "bob", justEnded); err != nil || q != nil {
		t.Fatalf("after the samples were pruned: %+v, %v", q, err)
	}
}

// TestSettledSummariesKept: a settled call's summaries are kept in the store once summed
// up, so that a restarted server (or another node) reads them instead of the timeline — here
// a sample added to the store afterwards shows which was read; a call nobody reported on is
// kept as such; a page mixes live, just-ended and settled calls in order; and a settled call
// older than the retention is not kept (nothing is left to sum up).
func TestSettledSummariesKept(t *testing.T) {
	st, clk := openStore(t)
	t0 := clk.Now()
	ctx := context.Background()
	first := quality.New(quality.Config{Store: st, Clock: clk, Retention: 24 * time.Hour})
	defer first.Close()
	bob := route.Device{App: "org#app", User: "bob", ID: "b1"}
	for _, id := range []string{"settled", "live"} {
		q := protocol.CallQuality{CallID: id, Samples: []protocol.QualitySample{{At: t0.UnixMilli(), LossIn: 0.25}}}
		if err := first.Add(ctx, bob, q); err != nil {
			t.Fatal(err)
		}
	}
	ended := t0.UnixMilli()
	clk.Advance(time.Minute)
	page := []quality.CallRef{
		{ID: "live", Caller: "alice", Callee: "bob"},
		{ID: "settled", Caller: "alice", Callee: "bob", EndedAt: ended},
		{ID: "silent", Caller: "alice", Callee: "bob", EndedAt: ended},
		{ID: "ancient", Caller: "alice", Callee: "bob", EndedAt: ended - (48 * time.Hour).Milliseconds()},
	}
	got, err := first.PartiesOf(ctx, "org#app", page)
	if err != nil || len(got) != 4 {
		t.Fatalf("page: %+v, %v", got, err)
	}
	if got[0] == nil || got[0].Callee.Samples != 1 || got[1] == nil || got[1].Callee.LossInMax != 0.25 || got[2] != nil || got[3] != nil {
		t.Fatalf("page: %+v %+v %+v %+v", got[0], got[1], got[2], got[3])
	}
	kept, err := st.QualitySummaries(ctx, "org#app", []string{"live", "settled", "silent", "ancient"})
	if err != nil || len(kept) != 2 || string(kept["silent"].Data) != "null" || kept["settled"].EndedAt.UnixMilli() != ended {
		t.Fatalf("kept: %+v, %v", kept, err)
	}

	// Samples the server would refuse, stored behind its back: a restarted server reads the
	// kept summaries, not these; the live call is read from its timeline.
	late := func(id string) store.QualitySample {
		return store.QualitySample{App: "org#app", CallID: id, User: "bob", Device: "b1", At: t0, Data: []byte(`{"at":1,"lossIn":0.9}`)}
	}
	if err := st.AddQualitySamples(ctx, []store.QualitySample{late("settled"), late("silent"), late("live")}); err != nil {
		t.Fatal(err)
	}
	restarted := quality.New(quality.Config{Store: st, Clock: clk, Retention: 24 * time.Hour})
	defer restarted.Close()
	got, err = restarted.PartiesOf(ctx, "org#app", page)
	if err != nil {
		t.Fatal(err)
	}
	if got[0].Callee.Samples != 2 || got[1].Callee.Samples != 1 || got[1].Callee.LossInMax != 0.25 || got[2] != nil {
		t.Fatalf("after a restart: live %+v, settled %+v, silent %+v", got[0].Callee, got[1].Callee, got[2])
	}
}

// openStore opens a SQLite store on disk for the test and a fake clock at a fixed time.
func openStore(t *testing.T) (*sqlite.Store, *clock.Fake) {
	t.Helper()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "duet.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st, clock.NewFake(time.UnixMilli(1_780_000_000_000))
}
