// Package pgtest gives tests a fresh PostgreSQL database each: on the server named by the
// environment variable DUET_TEST_POSTGRES (a postgres:// URL whose user may CREATE
// DATABASE), created for the test and dropped when it ends. Without the variable the test
// is skipped. scripts/with-postgres.sh (and scripts/test.sh) start a throwaway server and
// set it.
package pgtest

import (
	"context"
	"crypto/rand"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/duet-rtc/duet/server/store/postgres"
)

// Env names the variable that holds the URL of the test server.
const Env = "DUET_TEST_POSTGRES"

// URL creates an empty database for the test and returns its URL; the database is dropped
// (with its connections) when the test and its cleanups before this one are done. It skips
// the test when DUET_TEST_POSTGRES is unset.
func URL(t testing.TB) string {
	t.Helper()
	admin := os.Getenv(Env)
	if admin == "" {
		t.Skip(Env + " is not set: no PostgreSQL server to test against (scripts/with-postgres.sh starts one)")
	}
	u, err := url.Parse(admin)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		t.Fatalf("%s must be a postgres:// URL: %v", Env, err)
	}
	name := "duet_test_" + strings.ToLower(rand.Text()[:16])
	ident := pgx.Identifier{name}.Sanitize()
	exec(t, admin, "CREATE DATABASE "+ident)
	t.Cleanup(func() { exec(t, admin, "DROP DATABASE IF EXISTS "+ident+" WITH (FORCE)") })
	u.Path = "/" + name
	return u.String()
}

// New opens a postgres.Store on a fresh database (see URL) and closes it when the test ends.
func New(t testing.TB) *postgres.Store {
	t.Helper()
	dsn := URL(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := postgres.Open(ctx, dsn)
	if err != nil {
		t.Fatalf("open test database: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// exec runs one statement on the server's administrative database.
func exec(t testing.TB, admin, sql string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatalf("connect to %s: %v", Env, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}
