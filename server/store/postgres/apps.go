package postgres

import (
	"context"
	"fmt"

	"github.com/duet-rtc/duet/server/store"
	"github.com/duet-rtc/duet/server/store/internal/codec"
)

const appColumns = `key, org, name, client_id, client_secret, registration, created`

// CreateApp inserts app; store.ErrDuplicate if its key (compared case-insensitively) or its
// client id is taken.
func (s *Store) CreateApp(ctx context.Context, app store.App) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO apps(`+appColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		app.Key, app.Org, app.Name, app.ClientID, app.ClientSecret, app.Registration, codec.Millis(app.Created))
	if isDuplicate(err) {
		return fmt.Errorf("postgres: app %q: %w", app.Key, store.ErrDuplicate)
	}
	if err != nil {
		return fmt.Errorf("postgres: create app %q: %w", app.Key, err)
	}
	return nil
}

// GetApp returns the app with key (compared case-insensitively) or store.ErrNotFound.
func (s *Store) GetApp(ctx context.Context, key string) (store.App, error) {
	a, err := scanApp(s.pool.QueryRow(ctx, `SELECT `+appColumns+` FROM apps WHERE key = $1`, key))
	if err != nil {
		return store.App{}, notFoundIfNoRows(err, fmt.Sprintf("app %q", key))
	}
	return a, nil
}

// SetAppSecret replaces the stored client secret of the app with key; store.ErrNotFound if
// there is none.
func (s *Store) SetAppSecret(ctx context.Context, key, secret string) error {
	tag, err := s.pool.Exec(ctx, `UPDATE apps SET client_secret = $1 WHERE key = $2`, secret, key)
	return requireOne(tag, err, fmt.Sprintf("set secret of app %q", key))
}

// SetAppRegistration changes the registration mode of the app with key; store.ErrNotFound
// if there is none.
func (s *Store) SetAppRegistration(ctx context.Context, key, registration string) error {
	tag, err := s.pool.Exec(ctx, `UPDATE apps SET registration = $1 WHERE key = $2`, registration, key)
	return requireOne(tag, err, fmt.Sprintf("set registration of app %q", key))
}

// ListApps returns every app in key order.
func (s *Store) ListApps(ctx context.Context) ([]store.App, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+appColumns+` FROM apps ORDER BY key`)
	return collect(rows, err, "list apps", scanApp)
}

func scanApp(r row) (store.App, error) {
	var a store.App
	var created int64
	err := r.Scan(&a.Key, &a.Org, &a.Name, &a.ClientID, &a.ClientSecret, &a.Registration, &created)
	a.Created = codec.Time(created)
	return a, err
}
