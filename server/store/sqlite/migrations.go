package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/database"
)

// migrationFiles is the schema history, one goose SQL file per version (migrations/NNNNN_*.sql).
// Files are append-only: never edit one that has shipped, add a new one instead.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// gooseTable is where goose records the applied versions.
const gooseTable = "goose_db_version"

// migrate brings the schema up to date with goose, each version in its own transaction
// together with its row in goose_db_version. Databases made before goose (by the store's
// own loop, which kept schema_migrations and PRAGMA user_version) are adopted first. It
// refuses a database written by a newer build.
func migrate(ctx context.Context, db *sql.DB) error {
	files, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return err
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, db, files, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return err
	}
	known := p.ListSources()[len(p.ListSources())-1].Version
	if err := adoptLegacy(ctx, db, known); err != nil {
		return err
	}
	// Two processes opening one new database at once (the server and the CLI) may both
	// decide to apply a version; the second one's transaction then fails, rolled back whole
	// (SQLite's DDL is transactional), and a second pass sees the version applied.
	for attempt := 0; ; attempt++ {
		err = upToDate(ctx, p)
		if err == nil || attempt == 1 || errors.Is(err, errNewerSchema) {
			return err
		}
	}
}

// errNewerSchema marks a database whose schema this build does not know.
var errNewerSchema = errors.New("database schema is newer than this build")

// upToDate refuses a newer schema, then applies the pending versions.
func upToDate(ctx context.Context, p *goose.Provider) error {
	current, target, err := p.GetVersions(ctx)
	if err != nil {
		return err
	}
	if current > target {
		return fmt.Errorf("%w: version %d, this build knows up to %d", errNewerSchema, current, target)
	}
	_, err = p.Up(ctx)
	return err
}

// adoptLegacy records the versions a pre-goose database has (schema_migrations rows 1..N,
// written with PRAGMA user_version N in the same transaction) as applied in goose's table,
// so that goose carries on at N+1 and keeps the data. It does nothing once goose's table
// exists or when there is no legacy table (a new database). The check and the writes run
// in one write transaction, so two processes do not both adopt.
func adoptLegacy(ctx context.Context, db *sql.DB, known int64) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }() // after a commit, a no-op
	var legacy, adopted int
	if err := tx.QueryRowContext(ctx, `SELECT
		(SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'),
		(SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?)`, gooseTable).Scan(&legacy, &adopted); err != nil {
		return err
	}
	if legacy == 0 || adopted > 0 {
		return nil
	}
	var rows, newest, userVersion int64
	if err := tx.QueryRowContext(ctx, `SELECT count(*), coalesce(max(version), 0) FROM schema_migrations`).Scan(&rows, &newest); err != nil {
		return err
	}
	if err := tx.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&userVersion); err != nil {
		return err
	}
	// The old loop applied versions in order, each with its row and user_version: anything
	// else was not written by it.
	if rows != newest || userVersion != newest {
		return fmt.Errorf("schema_migrations has %d rows up to version %d with user_version %d: not a database this store made", rows, newest, userVersion)
	}
	if newest > known {
		return fmt.Errorf("%w: version %d, this build knows up to %d", errNewerSchema, newest, known)
	}
	st, err := database.NewStore(goose.DialectSQLite3, gooseTable)
	if err != nil {
		return err
	}
	if err := st.CreateVersionTable(ctx, tx); err != nil {
		return err
	}
	// Version 0 is goose's marker of an initialised table, as its own set-up writes it.
	for v := int64(0); v <= newest; v++ {
		if err := st.Insert(ctx, tx, database.InsertRequest{Version: v}); err != nil {
			return err
		}
	}
	return tx.Commit()
}
