package storeurl

import (
	"context"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/duet-rtc/duet/server/store/postgres/pgtest"
)

func TestOpenSQLite(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "new")
	for _, spec := range []string{"", "sqlite:" + filepath.Join(t.TempDir(), "x.db")} {
		s, err := Open(ctx, spec, dir)
		if err != nil {
			t.Fatalf("Open(%q): %v", spec, err)
		}
		if _, err := s.ListApps(ctx); err != nil {
			t.Errorf("ListApps: %v", err)
		}
		s.Close()
	}
}

func TestOpenRejects(t *testing.T) {
	for _, spec := range []string{"sqlite:", "mysql://u:secret@h/db", "duet.db"} {
		_, err := Open(context.Background(), spec, t.TempDir())
		if err == nil {
			t.Errorf("Open(%q) succeeded", spec)
		} else if strings.Contains(err.Error(), "secret") {
			t.Errorf("Open(%q) error shows the password: %v", spec, err)
		}
	}
}

// freePort returns a loopback TCP port that nobody listens on (it was free a moment ago).
func freePort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

func TestOpenUnreachablePostgres(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	spec := "postgres://duet:hunter2secret@127.0.0.1:" + freePort(t) + "/duet?sslmode=disable"
	_, err := Open(ctx, spec, t.TempDir())
	if err == nil {
		t.Fatal("Open of an unreachable server succeeded")
	}
	if !strings.Contains(err.Error(), "cannot reach 127.0.0.1:") {
		t.Errorf("error does not say the server is unreachable: %v", err)
	}
	if strings.Contains(err.Error(), "hunter2secret") {
		t.Errorf("error shows the password: %v", err)
	}
}

func TestOpenPostgres(t *testing.T) {
	url := pgtest.URL(t)
	s, err := Open(context.Background(), url, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.LiveCalls(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestRedactedError(t *testing.T) {
	err := redacted(errTest("dial postgres://u:pw123@h failed"), "postgres://u:pw123@h/db")
	if strings.Contains(err.Error(), "pw123") || !strings.Contains(err.Error(), "xxxxx") {
		t.Errorf("redacted = %v", err)
	}
}

type errTest string

func (e errTest) Error() string { return string(e) }
