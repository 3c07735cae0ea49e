package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/duet-rtc/duet/server/store"
	"github.com/duet-rtc/duet/server/store/internal/codec"
)

var _ store.PushStore = (*Store)(nil)

// BindPushToken stores b in one transaction: first the token leaves whichever device held
// it (a phone that switched accounts keeps its token), then b replaces the device's binding.
func (s *Store) BindPushToken(ctx context.Context, b store.PushBinding) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		var q batch
		q.add("bind push token", `DELETE FROM push_tokens WHERE app = $1 AND provider = $2 AND token = $3`,
			b.App, b.Provider, b.Token)
		q.add("bind push token", `INSERT INTO push_tokens(app, username, device, provider, voip, token, topic, updated)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
			ON CONFLICT (app, username, device, provider, voip) DO UPDATE SET
				token = excluded.token, topic = excluded.topic, updated = excluded.updated`,
			b.App, b.User, b.Device, b.Provider, b.VoIP, b.Token, b.Topic, codec.Millis(b.Updated))
		_, err := q.run(ctx, tx)
		if isForeignKey(err) {
			return fmt.Errorf("postgres: user %q in app %q: %w", b.User, b.App, store.ErrNotFound)
		}
		return err
	})
}

// UnbindPushTokens removes the device's bindings that match provider and token ("" matches
// any).
func (s *Store) UnbindPushTokens(ctx context.Context, app, user, device, provider, token string) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM push_tokens WHERE app = $1 AND username = $2 AND device = $3
		AND ($4::text = '' OR provider = $4) AND ($5::text = '' OR token = $5)`,
		app, user, device, provider, token)
	if err != nil {
		return 0, fmt.Errorf("postgres: unbind push tokens: %w", err)
	}
	return tag.RowsAffected(), nil
}

// RemovePushToken removes a token the provider refused, wherever it is bound.
func (s *Store) RemovePushToken(ctx context.Context, app, provider, token string) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM push_tokens WHERE app = $1 AND provider = $2 AND token = $3`,
		app, provider, token); err != nil {
		return fmt.Errorf("postgres: remove push token: %w", err)
	}
	return nil
}

// PushBindings returns the user's bindings by device, provider and voip.
func (s *Store) PushBindings(ctx context.Context, app, user string) ([]store.PushBinding, error) {
	rows, err := s.pool.Query(ctx, `SELECT app, username, device, provider, voip, token, topic, updated
		FROM push_tokens WHERE app = $1 AND username = $2 ORDER BY device, provider, voip`, app, user)
	return collect(rows, err, "push bindings", func(r row) (store.PushBinding, error) {
		var b store.PushBinding
		var updated int64
		err := r.Scan(&b.App, &b.User, &b.Device, &b.Provider, &b.VoIP, &b.Token, &b.Topic, &updated)
		b.Updated = codec.Time(updated)
		return b, err
	})
}

// PutPushCredentials inserts or replaces the app's credentials for c.Provider.
func (s *Store) PutPushCredentials(ctx context.Context, c store.PushCredentials) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO push_credentials(app, provider, config, updated) VALUES ($1, $2, $3, $4)
		ON CONFLICT (app, provider) DO UPDATE SET config = excluded.config, updated = excluded.updated`,
		c.App, c.Provider, nonNil(c.Config), codec.Millis(c.Updated))
	switch {
	case isForeignKey(err):
		return fmt.Errorf("postgres: app %q: %w", c.App, store.ErrNotFound)
	case err != nil:
		return fmt.Errorf("postgres: put push credentials: %w", err)
	}
	return nil
}

// AddPushCredentials inserts c unless the app has credentials for c.Provider, and reports
// whether it did.
func (s *Store) AddPushCredentials(ctx context.Context, c store.PushCredentials) (bool, error) {
	res, err := s.pool.Exec(ctx, `INSERT INTO push_credentials(app, provider, config, updated) VALUES ($1, $2, $3, $4)
		ON CONFLICT (app, provider) DO NOTHING`, c.App, c.Provider, nonNil(c.Config), codec.Millis(c.Updated))
	switch {
	case isForeignKey(err):
		return false, fmt.Errorf("postgres: app %q: %w", c.App, store.ErrNotFound)
	case err != nil:
		return false, fmt.Errorf("postgres: add push credentials: %w", err)
	}
	return res.RowsAffected() == 1, nil
}

// GetPushCredentials returns one app's credentials for provider.
func (s *Store) GetPushCredentials(ctx context.Context, app, provider string) (store.PushCredentials, error) {
	c, err := scanCredentials(s.pool.QueryRow(ctx, `SELECT app, provider, config, updated FROM push_credentials
		WHERE app = $1 AND provider = $2`, app, provider))
	if err != nil {
		return store.PushCredentials{}, notFoundIfNoRows(err, fmt.Sprintf("%s credentials of app %q", provider, app))
	}
	return c, nil
}

// ListPushCredentials returns the app's credentials by provider.
func (s *Store) ListPushCredentials(ctx context.Context, app string) ([]store.PushCredentials, error) {
	rows, err := s.pool.Query(ctx, `SELECT app, provider, config, updated FROM push_credentials
		WHERE app = $1 ORDER BY provider`, app)
	return collect(rows, err, "list push credentials", scanCredentials)
}

// DeletePushCredentials removes the app's credentials for provider.
func (s *Store) DeletePushCredentials(ctx context.Context, app, provider string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM push_credentials WHERE app = $1 AND provider = $2`, app, provider)
	return requireOne(tag, err, "delete push credentials")
}

func scanCredentials(r row) (store.PushCredentials, error) {
	var c store.PushCredentials
	var updated int64
	err := r.Scan(&c.App, &c.Provider, &c.Config, &updated)
	c.Updated = codec.Time(updated)
	return c, err
}
