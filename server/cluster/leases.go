package cluster

import (
	"context"
	"fmt"
	"sync"

	"github.com/jackc/pgx/v5"
)

// lockClass is the first key of duet's advisory locks ("duet" in ASCII); the second is the
// partition.
const lockClass = 0x64756574

// Leases elects the owners of partitions with PostgreSQL session advisory locks, held on a
// connection of their own: a node owns partition p while its session holds lock (duet, p).
// PostgreSQL releases a session's locks when the session ends, so a node that dies (its
// socket closes) or loses the database frees its partitions at once, and the other nodes
// take them at their next heartbeat. The lock is the only truth: heartbeats only say who
// holds what, to spread partitions evenly.
type Leases struct {
	url string

	mu   sync.Mutex
	conn *pgx.Conn // nil until connected, and after it failed
	pid  uint32    // the session's backend process, which holds the locks
}

// Fence returns what a commit checks to be sure this node still holds partition p
// (store.CallBatch.Fence): the lock's keys and the session holding it now.
func (l *Leases) Fence(p int) (class, key int32, pid uint32) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return lockClass, int32(p), l.pid
}

// NewLeases returns leases on the PostgreSQL database at url (the store's).
func NewLeases(url string) *Leases { return &Leases{url: url} }

// check makes sure the session is alive. It reports lost when a session that held locks is
// gone (they are free now: the owner must stop deciding at once).
func (l *Leases) check(ctx context.Context) (lost bool, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.conn != nil {
		if err := l.conn.Ping(ctx); err == nil {
			return false, nil
		}
		_ = l.conn.Close(ctx)
		l.conn, lost = nil, true
	}
	conn, err := pgx.Connect(ctx, l.url)
	if err != nil {
		return lost, fmt.Errorf("cluster: leases: %w", err)
	}
	l.conn, l.pid = conn, conn.PgConn().PID()
	return lost, nil
}

// tryLock takes the lock of each partition in ps that is free and returns those it got.
func (l *Leases) tryLock(ctx context.Context, ps []int) ([]int, error) {
	if len(ps) == 0 {
		return nil, nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.conn == nil {
		return nil, fmt.Errorf("cluster: leases: not connected")
	}
	rows, err := l.conn.Query(ctx,
		`SELECT p FROM unnest($1::int[]) AS p WHERE pg_try_advisory_lock($2::int, p)`, ps, lockClass)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[int])
}

// unlock gives up partition p's lock.
func (l *Leases) unlock(ctx context.Context, p int) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.conn == nil {
		return nil // the session is gone, and its locks with it
	}
	_, err := l.conn.Exec(ctx, `SELECT pg_advisory_unlock($1::int, $2::int)`, lockClass, p)
	return err
}

// close ends the session, freeing every lock.
func (l *Leases) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.conn != nil {
		_ = l.conn.Close(context.Background())
		l.conn = nil
	}
}
