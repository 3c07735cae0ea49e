// Package sqlite implements store.Store on an embedded SQLite database (modernc.org/sqlite,
// pure Go, so the server builds with CGO_ENABLED=0).
//
// The database runs in WAL mode with synchronous=NORMAL: a commit survives a process crash,
// and only the last transactions before a power loss may be lost. SQLite admits one writer at
// a time, so the Store keeps one write connection (writes queue in database/sql instead of
// failing with SQLITE_BUSY) and a separate pool of read-only connections, which WAL lets run
// alongside the writer. Times are stored as unix milliseconds, zero times as 0.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/duet-rtc/duet/server/store"
)

// busyTimeout is how long a connection waits for a lock held by another process (for
// example the duet CLI opening the server's database) before failing with SQLITE_BUSY.
const busyTimeout = 5 * time.Second

// Store is a store.Store backed by one SQLite database file. It is safe for concurrent use.
type Store struct {
	w *sql.DB // exactly one connection: every write goes through it
	r *sql.DB // read-only pool

	upsertCall *sql.Stmt // prepared on w, reused by every SaveCalls and CommitCalls
	// Prepared on w for CommitCalls, the hot path of every call step: parsing the SQL
	// each time cost more than running it.
	upsertLive, deleteLive, enqueueHook *sql.Stmt

	enqueued atomic.Uint64 // webhook deliveries committed since Open (WebhooksEnqueued)
	hookless hooklessApps  // apps known to have no webhook endpoint (CommitCalls)
}

var _ store.Store = (*Store)(nil)

// Open opens (creating if needed) the database at path and brings its schema up to date.
func Open(path string) (*Store, error) {
	if path == "" || strings.ContainsRune(path, '?') {
		return nil, fmt.Errorf("sqlite: invalid database path %q", path)
	}
	q := url.Values{}
	q.Set("_busy_timeout", fmt.Sprint(busyTimeout.Milliseconds()))
	q.Set("_foreign_keys", "1")
	q.Set("_synchronous", "NORMAL")
	q.Set("_txlock", "immediate") // take the write lock at BEGIN: no deadlocking upgrades
	q.Add("_pragma", "cache_size(-32768)")
	// No memory map: the database grows with every call, and a reader of a mapped file
	// that grew maps it again (munmap + mmap) at the start of each read transaction. With
	// call steps written all the time that cost more than the map saved: 19–27 % more
	// durable call cycles without it (BenchmarkDurableCallCycle, alternating runs).
	q.Add("_pragma", "mmap_size(0)")
	q.Add("_pragma", "temp_store(MEMORY)")
	q.Add("_pragma", "wal_autocheckpoint(10000)")
	q.Add("_pragma", "journal_size_limit(67108864)")
	wdsn := path + "?" + q.Encode() + "&_journal_mode=WAL"
	if err := private(path); err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}

	w, err := sql.Open("sqlite", wdsn)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	s := &Store{w: w}
	ctx := context.Background()
	if err := migrate(ctx, w); err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: migrate %s: %w", path, err)
	}

	q.Set("_txlock", "deferred")
	q.Set("_query_only", "1")
	r, err := sql.Open("sqlite", path+"?"+q.Encode())
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	n := max(4, 2*runtime.GOMAXPROCS(0))
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	s.r = r
	if err := r.PingContext(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	for _, p := range []struct {
		stmt **sql.Stmt
		sql  string
	}{{&s.upsertCall, upsertCallSQL}, {&s.upsertLive, upsertLiveCallSQL}, {&s.deleteLive, deleteLiveCallSQL}, {&s.enqueueHook, enqueueWebhookSQL}} {
		if *p.stmt, err = w.PrepareContext(ctx, p.sql); err != nil {
			s.Close()
			return nil, fmt.Errorf("sqlite: prepare: %w", err)
		}
	}
	return s, nil
}

// Close closes the database. The Store must not be used afterwards.
func (s *Store) Close() error {
	var errs []error
	for _, st := range []*sql.Stmt{s.upsertCall, s.upsertLive, s.deleteLive, s.enqueueHook} {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	if s.r != nil {
		errs = append(errs, s.r.Close())
	}
	// Closing the last connection of a WAL database checkpoints it and removes the -wal file.
	errs = append(errs, s.w.Close())
	return errors.Join(errs...)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Extended SQLite result codes the store maps to store errors.
const (
	rcForeignKey = sqlite3.SQLITE_CONSTRAINT | 3<<8  // SQLITE_CONSTRAINT_FOREIGNKEY
	rcPrimaryKey = sqlite3.SQLITE_CONSTRAINT | 6<<8  // SQLITE_CONSTRAINT_PRIMARYKEY
	rcUnique     = sqlite3.SQLITE_CONSTRAINT | 8<<8  // SQLITE_CONSTRAINT_UNIQUE
	rcRowID      = sqlite3.SQLITE_CONSTRAINT | 10<<8 // SQLITE_CONSTRAINT_ROWID
)

// sqliteCode returns the extended result code of err, or 0.
func sqliteCode(err error) int {
	var e *sqlite.Error
	if errors.As(err, &e) {
		return e.Code()
	}
	return 0
}

// isDuplicate reports whether err is a uniqueness violation.
func isDuplicate(err error) bool {
	switch sqliteCode(err) {
	case rcPrimaryKey, rcUnique, rcRowID:
		return true
	}
	return false
}

// isForeignKey reports whether err is a foreign key violation (a missing parent row).
func isForeignKey(err error) bool { return sqliteCode(err) == rcForeignKey }

// notFoundIfNoRows turns sql.ErrNoRows into store.ErrNotFound with a description.
func notFoundIfNoRows(err error, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("sqlite: %s: %w", what, store.ErrNotFound)
	}
	return fmt.Errorf("sqlite: %s: %w", what, err)
}

// requireOne returns store.ErrNotFound when res affected no row.
func requireOne(res sql.Result, err error, what string) error {
	if err != nil {
		return fmt.Errorf("sqlite: %s: %w", what, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("sqlite: %s: %w", what, err)
	}
	if n == 0 {
		return fmt.Errorf("sqlite: %s: %w", what, store.ErrNotFound)
	}
	return nil
}

// inTx runs f in a write transaction, committing when it returns nil.
func (s *Store) inTx(ctx context.Context, f func(tx *sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: begin: %w", err)
	}
	if err := f(tx); err != nil {
		_ = tx.Rollback() // f failed: its error is what matters
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: commit: %w", err)
	}
	return nil
}

// private makes the database file, and its WAL and shared-memory files if they exist, 0600
// whatever the umask or an older server left: they hold secrets, tokens' hashes and
// message texts. SQLite gives the -wal and -shm files it creates the database's mode.
func private(path string) error {
	if path == ":memory:" || strings.HasPrefix(path, "file:") {
		return nil
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return err
	}
	f.Close()
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if err := os.Chmod(p, 0o600); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}
