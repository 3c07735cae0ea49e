package postgres_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/duet-rtc/duet/server/store"
	"github.com/duet-rtc/duet/server/store/postgres"
	"github.com/duet-rtc/duet/server/store/postgres/pgtest"
	"github.com/duet-rtc/duet/server/store/storetest"
)

// TestCommitFence: a fenced commit is written while the named session holds the advisory
// lock, and refused with ErrFenced, writing nothing, once the lock is gone (a node of a
// cluster that lost its partition must not record calls another node now decides).
func TestCommitFence(t *testing.T) {
	ctx := context.Background()
	url := pgtest.URL(t)
	s, err := postgres.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	storetest.CreateApp(t, s, "org#app")
	holder, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close(ctx)
	if _, err := holder.Exec(ctx, `SELECT pg_advisory_lock(1685415284, 7)`); err != nil {
		t.Fatal(err)
	}
	t0 := time.UnixMilli(1_760_000_000_000)
	fence := &store.Fence{Class: 1685415284, Key: 7, PID: holder.PgConn().PID()}
	held := store.CallBatch{Save: []store.LiveCall{storetest.LiveCall("org#app", "a", t0)}, Fence: fence}
	if err := s.CommitCalls(ctx, held, t0); err != nil {
		t.Fatalf("commit while the lock is held: %v", err)
	}
	other := *fence
	other.Key = 8
	if err := s.CommitCalls(ctx, store.CallBatch{Save: []store.LiveCall{storetest.LiveCall("org#app", "b", t0)}, Fence: &other}, t0); !errors.Is(err, store.ErrFenced) {
		t.Fatalf("commit fenced by a lock nobody holds: %v, want ErrFenced", err)
	}
	if _, err := holder.Exec(ctx, `SELECT pg_advisory_unlock(1685415284, 7)`); err != nil {
		t.Fatal(err)
	}
	lost := store.CallBatch{Save: []store.LiveCall{storetest.LiveCall("org#app", "c", t0)}, Fence: fence}
	if err := s.CommitCalls(ctx, lost, t0); !errors.Is(err, store.ErrFenced) {
		t.Fatalf("commit after the lock was released: %v, want ErrFenced", err)
	}
	live, err := s.LiveCalls(ctx)
	if err != nil || len(live) != 1 || live[0].ID != "a" {
		t.Fatalf("live calls %+v, %v; want only a", live, err)
	}
}
