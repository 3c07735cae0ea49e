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
