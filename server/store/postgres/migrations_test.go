package postgres_test

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/duet-rtc/duet/server/store"
	"github.com/duet-rtc/duet/server/store/postgres"
	"github.com/duet-rtc/duet/server/store/postgres/pgtest"
)

// TestReopenAndNewerSchema opens one database twice (the second Open finds the schema up
// to date and the data kept), then refuses it once it records a version this build does
// not know.
func TestReopenAndNewerSchema(t *testing.T) {
	ctx := context.Background()
	url := pgtest.URL(t)
	s, err := postgres.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	app := store.App{Key: "Org#App", ClientID: "cid", Registration: store.RegistrationOpen}
	if err := s.CreateApp(ctx, app); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = postgres.Open(ctx, url)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	if got, err := s.GetApp(ctx, "org#app"); err != nil || got.Key != "Org#App" {
		t.Fatalf("GetApp after reopen = %+v, %v", got, err)
	}
	s.Close()

	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var applied int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM goose_db_version WHERE version_id > 0`).Scan(&applied); err != nil || applied == 0 {
		t.Fatalf("applied versions = %d, %v", applied, err)
	}
	if _, err := conn.Exec(ctx, `INSERT INTO goose_db_version(version_id, is_applied) SELECT max(version_id) + 1, true FROM goose_db_version`); err != nil {
		t.Fatal(err)
	}
	s, err = postgres.Open(ctx, url)
	if err == nil {
		s.Close()
		t.Fatal("Open accepted a database from a newer build")
	}
	if !strings.Contains(err.Error(), "newer than this build") {
		t.Errorf("error does not say why: %v", err)
	}
}
