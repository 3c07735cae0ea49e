package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/duet-rtc/duet/server/store"
)

// testQualitySamples: samples come back per call in time order (ties in the order stored),
// apps compare case-insensitively, other calls and apps stay apart, limit holds, and
// pruning deletes by time.
func testQualitySamples(t *testing.T, s store.Backend) {
	ctx := context.Background()
	sample := func(app, call, dev string, at time.Time, data string) store.QualitySample {
		return store.QualitySample{App: app, CallID: call, User: "bob", Device: dev, At: at, Data: []byte(data)}
	}
	in := []store.QualitySample{
		sample("org#app", "c1", "d1", t0.Add(2*time.Second), `{"n":2}`),
		sample("org#app", "c1", "d2", t0, `{"n":0}`),
		sample("org#app", "c1", "d1", t0.Add(2*time.Second), `{"n":3}`),
		sample("org#app", "c2", "d1", t0, `{"other":"call"}`),
		sample("org#other", "c1", "d1", t0, `{"other":"app"}`),
	}
	if err := s.AddQualitySamples(ctx, in); err != nil {
		t.Fatal(err)
	}
	got, err := s.QualitySamples(ctx, "ORG#App", "c1", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || string(got[0].Data) != `{"n":0}` || string(got[1].Data) != `{"n":2}` || string(got[2].Data) != `{"n":3}` {
		t.Fatalf("samples of c1: %+v", got)
	}
	if g := got[1]; g.User != "bob" || g.Device != "d1" || !g.At.Equal(t0.Add(2*time.Second)) {
		t.Fatalf("sample %+v", g)
	}
	if got, _ := s.QualitySamples(ctx, "org#app", "c1", 2); len(got) != 2 {
		t.Fatalf("limit 2 gave %d", len(got))
	}
	n, err := s.PruneQualitySamples(ctx, t0.Add(time.Second))
	if err != nil || n != 3 {
		t.Fatalf("prune: %d, %v; want the 3 samples at t0", n, err)
	}
	if got, _ := s.QualitySamples(ctx, "org#app", "c1", 10); len(got) != 2 {
		t.Fatalf("after the prune: %+v", got)
	}
}

// testQualitySummaries: a call's summary is kept once (the first writer wins), read back
// for the ids asked that have one (apps compare case-insensitively), and pruned by the
// call's end.
func testQualitySummaries(t *testing.T, s store.Backend) {
	ctx := context.Background()
	sum := func(app, call string, ended time.Time, data string) store.QualitySummary {
		return store.QualitySummary{App: app, CallID: call, EndedAt: ended, Data: []byte(data)}
	}
	if err := s.AddQualitySummaries(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.AddQualitySummaries(ctx, []store.QualitySummary{sum("org#app", "c1", t0, `{"caller":{"mos":4.1}}`)}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddQualitySummaries(ctx, []store.QualitySummary{
		sum("org#app", "c1", t0.Add(time.Hour), `{"second":"writer"}`),
		sum("org#app", "c2", t0.Add(2*time.Second), `null`),
		sum("org#other", "c3", t0, `{"other":"app"}`),
	}); err != nil {
		t.Fatal(err)
	}
	if got, err := s.QualitySummaries(ctx, "org#app", nil); err != nil || len(got) != 0 {
		t.Fatalf("no ids: %v, %v", got, err)
	}
	got, err := s.QualitySummaries(ctx, "ORG#App", []string{"c1", "c2", "c3", "c4"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || string(got["c1"].Data) != `{"caller":{"mos":4.1}}` || string(got["c2"].Data) != `null` {
		t.Fatalf("summaries: %+v", got)
	}
	if c1 := got["c1"]; c1.CallID != "c1" || !c1.EndedAt.Equal(t0) {
		t.Fatalf("c1: %+v", c1)
	}
	if _, err := s.PruneQualitySamples(ctx, t0.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	got, err = s.QualitySummaries(ctx, "org#app", []string{"c1", "c2"})
	if err != nil || len(got) != 1 || got["c2"].Data == nil {
		t.Fatalf("after the prune (c1 ended before it, c2 after): %+v, %v", got, err)
	}
}
