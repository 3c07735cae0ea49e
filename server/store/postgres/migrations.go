package postgres

import (
	"context"
	"embed"
	"fmt"
	"io/fs"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

// migrationFiles is the schema history, one goose SQL file per version, numbered as
// store/sqlite's so that a version means the same change in both. Files are append-only:
// never edit one that has shipped, add a new one instead.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrate brings the schema up to date with goose, each version in its own transaction,
// holding a session advisory lock so that servers starting at once migrate one at a time.
// It refuses a database written by a newer build. goose needs a *sql.DB: pgx's stdlib
// adapter lends it connections of the pool for the duration.
func migrate(ctx context.Context, pool *pgxpool.Pool) error {
	files, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return err
	}
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return err
	}
	db := stdlib.OpenDBFromPool(pool)
	defer db.Close()
	p, err := goose.NewProvider(goose.DialectPostgres, db, files,
		goose.WithDisableGlobalRegistry(true), goose.WithSessionLocker(locker))
	if err != nil {
		return err
	}
	current, target, err := p.GetVersions(ctx)
	if err != nil {
		return err
	}
	if current > target {
		return fmt.Errorf("database schema is newer than this build: version %d, this build knows up to %d", current, target)
	}
	_, err = p.Up(ctx)
	return err
}
