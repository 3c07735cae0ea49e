package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/duet-rtc/duet/server/store"
	"github.com/duet-rtc/duet/server/store/internal/codec"
)

func testSaveAndGetCall(t *testing.T, s store.Backend) {
	ctx := context.Background()
	c := Call("org#app", "c1", "alice", "bob", t0)
	if err := s.SaveCalls(ctx, []store.CallRecord{c}); err != nil {
		t.Fatal(err)
	}
	if got, err := s.GetCall(ctx, "org#app", "c1"); err != nil || got != c {
		t.Fatalf("GetCall = %+v, %v; want %+v", got, err, c)
	}
	// Upsert: the same id again replaces the record; zero times stay zero.
	c2 := store.CallRecord{ID: "c1", App: "org#app", Caller: "alice", Callee: "bob", InvitedAt: t0, EndedAt: t0.Add(time.Second), EndReason: 3}
	if err := s.SaveCalls(ctx, []store.CallRecord{c2}); err != nil {
		t.Fatal(err)
	}
	if got, err := s.GetCall(ctx, "org#app", "c1"); err != nil || got != c2 {
		t.Fatalf("GetCall after upsert = %+v, %v; want %+v", got, err, c2)
	}
	if _, err := s.GetCall(ctx, "org#app", "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetCall unknown = %v", err)
	}
	if _, err := s.GetCall(ctx, "org#other", "c1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetCall of another app = %v", err)
	}
	if err := s.SaveCalls(ctx, nil); err != nil {
		t.Errorf("SaveCalls(nil) = %v", err)
	}
}

func testSaveCallsRollsBack(t *testing.T, s store.Backend) {
	ctx := context.Background()
	ctx2, cancel := context.WithCancel(ctx)
	cancel()
	if err := s.SaveCalls(ctx2, []store.CallRecord{Call("org#app", "c1", "a", "b", t0)}); err == nil {
		t.Fatal("SaveCalls with a cancelled context succeeded")
	}
	if _, err := s.GetCall(ctx, "org#app", "c1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("record of a failed batch stored: %v", err)
	}
}

func testListCalls(t *testing.T, s store.Backend) {
	ctx := context.Background()
	const app = "org#app"
	var batch []store.CallRecord
	// c00..c09 one second apart; c10 and c11 share c09's time to test the id tie-break.
	for i := range 10 {
		caller, callee := "alice", "bob"
		if i%2 == 1 {
			caller, callee = "bob", "alice"
		}
		if i%3 == 2 {
			caller, callee = "carol", "dave"
		}
		batch = append(batch, Call(app, fmt.Sprintf("c%02d", i), caller, callee, t0.Add(time.Duration(i)*time.Second)))
	}
	batch = append(batch, Call(app, "c10", "alice", "carol", t0.Add(9*time.Second)), Call(app, "c11", "erin", "alice", t0.Add(9*time.Second)))
	batch = append(batch, Call("org#other", "x1", "alice", "bob", t0.Add(5*time.Second)))
	if err := s.SaveCalls(ctx, batch); err != nil {
		t.Fatal(err)
	}

	all := func(f store.CallFilter) (string, int) {
		t.Helper()
		var got []store.CallRecord
		pages := 0
		for {
			page, next, err := s.ListCalls(ctx, app, f)
			if err != nil {
				t.Fatalf("ListCalls(%+v): %v", f, err)
			}
			pages++
			got = append(got, page...)
			if next == "" {
				return ids(got), pages
			}
			if pages > 20 {
				t.Fatal("cursor does not advance")
			}
			f.Cursor = next
		}
	}

	tests := []struct {
		name  string
		f     store.CallFilter
		want  string
		pages int
	}{
		{"all, one page", store.CallFilter{}, "[c11 c10 c09 c08 c07 c06 c05 c04 c03 c02 c01 c00]", 1},
		{"all, pages of 5", store.CallFilter{Limit: 5}, "[c11 c10 c09 c08 c07 c06 c05 c04 c03 c02 c01 c00]", 3},
		{"all, pages of 1", store.CallFilter{Limit: 1}, "[c11 c10 c09 c08 c07 c06 c05 c04 c03 c02 c01 c00]", 12},
		{"exact page size", store.CallFilter{Limit: 12}, "[c11 c10 c09 c08 c07 c06 c05 c04 c03 c02 c01 c00]", 1},
		{"user alice, caller or callee", store.CallFilter{User: "alice", Limit: 2}, "[c11 c10 c09 c07 c06 c04 c03 c01 c00]", 5},
		{"user case-insensitive", store.CallFilter{User: "CAROL"}, "[c10 c08 c05 c02]", 1},
		{"since", store.CallFilter{Since: t0.Add(8 * time.Second)}, "[c11 c10 c09 c08]", 1},
		{"until", store.CallFilter{Until: t0.Add(2 * time.Second)}, "[c01 c00]", 1},
		{"since and until and user", store.CallFilter{User: "bob", Since: t0.Add(time.Second), Until: t0.Add(9 * time.Second), Limit: 1}, "[c07 c06 c04 c03 c01]", 5},
		{"no match", store.CallFilter{User: "zed"}, "[]", 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, pages := all(tc.f)
			if got != tc.want || pages != tc.pages {
				t.Errorf("got %s in %d pages; want %s in %d", got, pages, tc.want, tc.pages)
			}
		})
	}

	// Limits: default 20, at most 100.
	for i := range 120 {
		batch = append(batch[:0], Call("org#big", fmt.Sprintf("b%03d", i), "a", "b", t0.Add(time.Duration(i)*time.Millisecond)))
		if err := s.SaveCalls(ctx, batch); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct{ limit, want int }{{0, 20}, {-5, 20}, {500, 100}, {100, 100}, {7, 7}} {
		page, next, err := s.ListCalls(ctx, "org#big", store.CallFilter{Limit: tc.limit})
		if err != nil || len(page) != tc.want || next == "" {
			t.Errorf("limit %d: %d records, next %q, %v; want %d", tc.limit, len(page), next, err, tc.want)
		}
	}

	for _, bad := range []string{"!!!", "bm90IGEgY3Vyc29y", codec.EncodeCursor(0, "x")[:3], string(make([]byte, 600))} {
		if _, _, err := s.ListCalls(ctx, app, store.CallFilter{Cursor: bad}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("cursor %q: %v; want ErrNotFound", bad, err)
		}
	}
}
