package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/duet-rtc/duet/server/store"
	"github.com/duet-rtc/duet/server/store/storetest"
)

// knownVersion is the newest schema version of this build.
func knownVersion(t *testing.T) int {
	t.Helper()
	files, err := fs.Glob(migrationFiles, "migrations/*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("migration files: %v %v", files, err)
	}
	return len(files)
}

// gooseVersions returns the applied versions in goose's table, in order.
func gooseVersions(t *testing.T, db *sql.DB) []int {
	t.Helper()
	rows, err := db.Query(`SELECT version_id FROM ` + gooseTable + ` WHERE is_applied ORDER BY version_id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []int
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	return out
}

func TestMigrationsIdempotent(t *testing.T) {
	ctx := context.Background()
	s, path := openTest(t)
	storetest.CreateApp(t, s, "org#app")
	for range 2 {
		if err := migrate(ctx, s.w); err != nil {
			t.Fatalf("migrate again: %v", err)
		}
	}
	n := knownVersion(t)
	got := gooseVersions(t, s.r)
	if len(got) != n+1 || got[len(got)-1] != n {
		t.Errorf("goose versions = %v; want 0..%d once each", got, n)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2, err := Open(path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s2.Close()
	if apps, err := s2.ListApps(ctx); err != nil || len(apps) != 1 {
		t.Errorf("ListApps after reopen = %v, %v", apps, err)
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	s, path := openTest(t)
	if _, err := s.w.Exec(`INSERT INTO `+gooseTable+`(version_id, is_applied) VALUES (?, 1)`, knownVersion(t)+1); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s2, err := Open(path)
	if err == nil {
		s2.Close()
		t.Fatal("Open accepted a database from a newer build")
	}
	if !strings.Contains(err.Error(), "newer than this build") {
		t.Errorf("error does not say why: %v", err)
	}
}

// legacyDB makes a database the way the store's own migration loop did before goose: the
// SQL of versions 1..upTo, each in a transaction with its schema_migrations row and PRAGMA
// user_version.
func legacyDB(t *testing.T, upTo int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "duet.db")
	db, err := sql.Open("sqlite", path+"?_foreign_keys=1")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER NOT NULL PRIMARY KEY,
		applied INTEGER NOT NULL
	)`); err != nil {
		t.Fatal(err)
	}
	files, _ := fs.Glob(migrationFiles, "migrations/*.sql")
	for v := 1; v <= upTo; v++ {
		// The goose annotations are SQL comments: the rest is the old loop's SQL.
		src, err := fs.ReadFile(migrationFiles, files[v-1])
		if err != nil {
			t.Fatal(err)
		}
		tx, err := db.Begin()
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range []string{string(src),
			fmt.Sprintf(`INSERT INTO schema_migrations(version, applied) VALUES (%d, %d)`, v, time.Now().UnixMilli()),
			fmt.Sprintf(`PRAGMA user_version = %d`, v)} {
			if _, err := tx.Exec(q); err != nil {
				t.Fatalf("legacy version %d: %v", v, err)
			}
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

// TestLegacyDatabaseAdopted opens databases made by the pre-goose loop at every version:
// their data stays, goose records the versions they had and applies the rest.
func TestLegacyDatabaseAdopted(t *testing.T) {
	ctx := context.Background()
	n := knownVersion(t)
	for upTo := 1; upTo <= n; upTo++ {
		t.Run(fmt.Sprintf("version %d", upTo), func(t *testing.T) {
			path := legacyDB(t, upTo)
			db, err := sql.Open("sqlite", path)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := db.Exec(`INSERT INTO apps VALUES ('Org#App', 'Org', 'App', 'cid', 'sec', 'open', 1)`); err != nil {
				t.Fatal(err)
			}
			db.Close()

			s, err := Open(path)
			if err != nil {
				t.Fatalf("Open legacy database: %v", err)
			}
			defer s.Close()
			if got := gooseVersions(t, s.r); len(got) != n+1 || got[n] != n {
				t.Errorf("goose versions = %v; want 0..%d", got, n)
			}
			if a, err := s.GetApp(ctx, "org#app"); err != nil || a.ClientID != "cid" {
				t.Errorf("legacy app = %+v, %v", a, err)
			}
			// The newest tables work.
			if err := s.CommitCalls(ctx, store.CallBatch{Save: []store.LiveCall{{App: "Org#App", ID: "c", InvitedAt: t0}}}, t0); err != nil {
				t.Errorf("CommitCalls on an adopted database: %v", err)
			}
		})
	}
}

func TestLegacyNewerRefused(t *testing.T) {
	path := legacyDB(t, 1)
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	// A newer build of the old loop would have left rows 1..v and user_version v.
	v := knownVersion(t) + 1
	for i := 2; i <= v; i++ {
		if _, err := db.Exec(`INSERT INTO schema_migrations(version, applied) VALUES (?, 0)`, i); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Exec(fmt.Sprintf(`PRAGMA user_version = %d`, v)); err != nil {
		t.Fatal(err)
	}
	db.Close()
	s, err := Open(path)
	if err == nil {
		s.Close()
		t.Fatal("Open accepted a legacy database of a newer version")
	}
	if !strings.Contains(err.Error(), "newer than this build") {
		t.Errorf("error does not say why: %v", err)
	}
}
