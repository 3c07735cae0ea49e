// Package postgres implements store.Backend on PostgreSQL with pgx (native API, one
// connection pool), for servers that share one database or outgrow the embedded SQLite
// store. It keeps the same semantics as store/sqlite, method for method: the same errors,
// case-insensitive app keys and usernames, times as unix milliseconds (0 for none), the
// same cursors. The schema is managed by goose (migrations/NNNNN_*.sql), under an advisory
// lock so that servers starting together migrate once.
//
// PostgreSQL runs writers side by side where SQLite queues them, so what SQLite got from
// its single writer is made explicit here: chat seqs come from one UPDATE of a counter row
// (its row lock orders concurrent senders), and writers of the webhook outbox take a
// transaction-level advisory lock, so that outbox ids follow commit order.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/duet-rtc/duet/server/store"
)

// defaultMaxConns is the pool size unless the URL sets pool_max_conns: enough that a
// node's request handlers, committer, chat and webhook workers rarely wait for a
// connection, while several nodes stay below PostgreSQL's default max_connections (100).
const defaultMaxConns = 16

// connectTimeout bounds each connection attempt when the URL does not set connect_timeout,
// so that an unreachable server fails Open instead of hanging it.
const connectTimeout = 10 * time.Second

// Store is a store.Backend on a PostgreSQL database. It is safe for concurrent use.
type Store struct {
	pool *pgxpool.Pool
}

var _ store.Backend = (*Store)(nil)

// Open connects to the database at url (postgres://user:password@host:port/db?options),
// checks that it answers and brings its schema up to date. The error of an unreachable
// server names the host, never the password.
func Open(ctx context.Context, url string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	q := queryOf(url)
	if !q.Has("pool_max_conns") {
		cfg.MaxConns = defaultMaxConns
	}
	if !q.Has("connect_timeout") {
		cfg.ConnConfig.ConnectTimeout = connectTimeout
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	where := fmt.Sprintf("%s:%d/%s", cfg.ConnConfig.Host, cfg.ConnConfig.Port, cfg.ConnConfig.Database)
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: cannot reach %s: %w", where, err)
	}
	if err := migrate(ctx, pool); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: migrate %s: %w", where, err)
	}
	return &Store{pool: pool}, nil
}

// queryOf returns the query parameters of a URL-form connection string (none for the
// key=value form, whose options pgx reads itself).
func queryOf(s string) url.Values {
	u, err := url.Parse(s)
	if err != nil || !strings.Contains(s, "://") {
		return url.Values{}
	}
	return u.Query()
}

// Close closes the pool, waiting for connections in use to be returned. The Store must
// not be used afterwards.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// PostgreSQL error codes the store maps to store errors.
const (
	codeUnique     = "23505"
	codeForeignKey = "23503"
)

// pgCode returns the SQLSTATE of err, or "".
func pgCode(err error) string {
	var e *pgconn.PgError
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// isDuplicate reports whether err is a uniqueness violation.
func isDuplicate(err error) bool { return pgCode(err) == codeUnique }

// isForeignKey reports whether err is a foreign key violation (a missing parent row).
func isForeignKey(err error) bool { return pgCode(err) == codeForeignKey }

// notFoundIfNoRows turns pgx.ErrNoRows into store.ErrNotFound with a description.
func notFoundIfNoRows(err error, what string) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("postgres: %s: %w", what, store.ErrNotFound)
	}
	return fmt.Errorf("postgres: %s: %w", what, err)
}

// requireOne returns store.ErrNotFound when the statement affected no row.
func requireOne(tag pgconn.CommandTag, err error, what string) error {
	if err != nil {
		return fmt.Errorf("postgres: %s: %w", what, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("postgres: %s: %w", what, store.ErrNotFound)
	}
	return nil
}

// inTx runs f in a transaction (READ COMMITTED), committing when it returns nil.
func (s *Store) inTx(ctx context.Context, f func(tx pgx.Tx) error) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("postgres: begin: %w", err)
	}
	if err := f(tx); err != nil {
		_ = tx.Rollback(context.WithoutCancel(ctx)) // the commit failed: its error is what matters
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("postgres: commit: %w", err)
	}
	return nil
}

// row is a pgx.Row or pgx.Rows.
type row interface{ Scan(dest ...any) error }

// collect scans every row with scan, wrapping errors with what.
func collect[T any](rows pgx.Rows, err error, what string, scan func(row) (T, error)) ([]T, error) {
	if err != nil {
		return nil, fmt.Errorf("postgres: %s: %w", what, err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("postgres: %s: %w", what, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: %s: %w", what, err)
	}
	return out, nil
}

// excluded returns "c = excluded.c, ..." for the columns of an upsert.
func excluded(columns string) string {
	var b strings.Builder
	for i, c := range strings.Split(columns, ",") {
		c = strings.TrimSpace(c)
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(c + " = excluded." + c)
	}
	return b.String()
}

// placeholders returns "$1, $2, ..., $n".
func placeholders(n int) string {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		if i > 1 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "$%d", i)
	}
	return b.String()
}
