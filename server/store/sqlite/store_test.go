package sqlite

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/duet-rtc/duet/server/store"
	"github.com/duet-rtc/duet/server/store/storetest"
)

// t0 is a fixed time with whole milliseconds, as the store keeps them.
var t0 = time.UnixMilli(1_760_000_000_000).UTC()

func openTest(t testing.TB) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "duet.db")
	s, err := Open(path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}

func TestOpenRejectsBadPath(t *testing.T) {
	for _, p := range []string{"", "a?b"} {
		if _, err := Open(p); err == nil {
			t.Errorf("Open(%q) succeeded", p)
		}
	}
}

func TestReopenKeepsData(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "duet.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	app := storetest.CreateApp(t, s, "org#app")
	u := storetest.User(app.Key, "alice")
	if err := s.CreateUsers(ctx, []store.User{u}); err != nil {
		t.Fatal(err)
	}
	c := store.CallRecord{ID: "c1", App: app.Key, Caller: "alice", Callee: "bob", InvitedAt: t0, EndedAt: t0.Add(time.Second)}
	if err := s.SaveCalls(ctx, []store.CallRecord{c}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	s, err = Open(path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close()
	if got, err := s.GetApp(ctx, app.Key); err != nil || got != app {
		t.Errorf("GetApp after reopen = %+v, %v; want %+v", got, err, app)
	}
	if got, err := s.GetUser(ctx, app.Key, "alice"); err != nil || got != u {
		t.Errorf("GetUser after reopen = %+v, %v; want %+v", got, err, u)
	}
	if got, err := s.GetCall(ctx, app.Key, "c1"); err != nil || got != c {
		t.Errorf("GetCall after reopen = %+v, %v; want %+v", got, err, c)
	}
}

func TestPragmas(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t)
	var mode string
	var fk, sync int
	if err := s.w.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q, %v", mode, err)
	}
	if err := s.w.QueryRowContext(ctx, `PRAGMA foreign_keys`).Scan(&fk); err != nil || fk != 1 {
		t.Errorf("foreign_keys = %d, %v", fk, err)
	}
	if err := s.w.QueryRowContext(ctx, `PRAGMA synchronous`).Scan(&sync); err != nil || sync != 1 {
		t.Errorf("synchronous = %d, %v; want 1 (NORMAL)", sync, err)
	}
	// The read pool cannot write.
	if _, err := s.r.ExecContext(ctx, `DELETE FROM apps`); err == nil {
		t.Error("read pool accepted a write")
	}
}
