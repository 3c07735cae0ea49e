package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/duet-rtc/duet/server/store"
	"github.com/duet-rtc/duet/server/store/internal/codec"
)

const appColumns = `key, org, name, client_id, client_secret, registration, created`

// CreateApp inserts app; store.ErrDuplicate if its key (compared case-insensitively) or its
// client id is taken.
func (s *Store) CreateApp(ctx context.Context, app store.App) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO apps(`+appColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		app.Key, app.Org, app.Name, app.ClientID, app.ClientSecret, app.Registration, codec.Millis(app.Created))
	if isDuplicate(err) {
		return fmt.Errorf("sqlite: app %q: %w", app.Key, store.ErrDuplicate)
	}
	if err != nil {
		return fmt.Errorf("sqlite: create app %q: %w", app.Key, err)
	}
	return nil
}

// GetApp returns the app with key (compared case-insensitively) or store.ErrNotFound.
func (s *Store) GetApp(ctx context.Context, key string) (store.App, error) {
	a, err := scanApp(s.r.QueryRowContext(ctx, `SELECT `+appColumns+` FROM apps WHERE key = ?`, key))
	if err != nil {
		return store.App{}, notFoundIfNoRows(err, fmt.Sprintf("app %q", key))
	}
	return a, nil
}

// SetAppSecret replaces the stored client secret of the app with key; store.ErrNotFound if
// there is none.
func (s *Store) SetAppSecret(ctx context.Context, key, secret string) error {
	res, err := s.w.ExecContext(ctx, `UPDATE apps SET client_secret = ? WHERE key = ?`, secret, key)
	return requireOne(res, err, fmt.Sprintf("set secret of app %q", key))
}

// SetAppRegistration changes the registration mode of the app with key; store.ErrNotFound
// if there is none.
func (s *Store) SetAppRegistration(ctx context.Context, key, registration string) error {
	res, err := s.w.ExecContext(ctx, `UPDATE apps SET registration = ? WHERE key = ?`, registration, key)
	return requireOne(res, err, fmt.Sprintf("set registration of app %q", key))
}

// ListApps returns every app in key order.
func (s *Store) ListApps(ctx context.Context) ([]store.App, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+appColumns+` FROM apps ORDER BY key`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list apps: %w", err)
	}
	defer rows.Close()
	var apps []store.App
	for rows.Next() {
		a, err := scanApp(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list apps: %w", err)
		}
		apps = append(apps, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list apps: %w", err)
	}
	return apps, nil
}

// scanner is a *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

// collect scans every row with scan, wrapping errors with what (the postgres store's twin).
func collect[T any](rows *sql.Rows, err error, what string, scan func(scanner) (T, error)) ([]T, error) {
	if err != nil {
		return nil, fmt.Errorf("sqlite: %s: %w", what, err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: %s: %w", what, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: %s: %w", what, err)
	}
	return out, nil
}

func scanApp(r scanner) (store.App, error) {
	var a store.App
	var created int64
	err := r.Scan(&a.Key, &a.Org, &a.Name, &a.ClientID, &a.ClientSecret, &a.Registration, &created)
	a.Created = codec.Time(created)
	return a, err
}
