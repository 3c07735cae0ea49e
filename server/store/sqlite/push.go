package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/duet-rtc/duet/server/store"
	"github.com/duet-rtc/duet/server/store/internal/codec"
)

var _ store.PushStore = (*Store)(nil)

// BindPushToken stores b in one transaction: first the token leaves whichever device held
// it (a phone that switched accounts keeps its token), then b replaces the device's binding.
func (s *Store) BindPushToken(ctx context.Context, b store.PushBinding) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM push_tokens WHERE app = ? AND provider = ? AND token = ?`,
			b.App, b.Provider, b.Token); err != nil {
			return fmt.Errorf("sqlite: bind push token: %w", err)
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO push_tokens(app, username, device, provider, voip, token, topic, updated)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT(app, username, device, provider, voip) DO UPDATE SET
				token = excluded.token, topic = excluded.topic, updated = excluded.updated`,
			b.App, b.User, b.Device, b.Provider, boolInt(b.VoIP), b.Token, b.Topic, codec.Millis(b.Updated))
		switch {
		case isForeignKey(err):
			return fmt.Errorf("sqlite: user %q in app %q: %w", b.User, b.App, store.ErrNotFound)
		case err != nil:
			return fmt.Errorf("sqlite: bind push token: %w", err)
		}
		return nil
	})
}

// UnbindPushTokens removes the device's bindings that match provider and token ("" matches
// any).
func (s *Store) UnbindPushTokens(ctx context.Context, app, user, device, provider, token string) (int64, error) {
	res, err := s.w.ExecContext(ctx, `DELETE FROM push_tokens WHERE app = ? AND username = ? AND device = ?
		AND (? = '' OR provider = ?) AND (? = '' OR token = ?)`,
		app, user, device, provider, provider, token, token)
	if err != nil {
		return 0, fmt.Errorf("sqlite: unbind push tokens: %w", err)
	}
	return res.RowsAffected()
}

// RemovePushToken removes a token the provider refused, wherever it is bound.
func (s *Store) RemovePushToken(ctx context.Context, app, provider, token string) error {
	if _, err := s.w.ExecContext(ctx, `DELETE FROM push_tokens WHERE app = ? AND provider = ? AND token = ?`,
		app, provider, token); err != nil {
		return fmt.Errorf("sqlite: remove push token: %w", err)
	}
	return nil
}

// PushBindings returns the user's bindings by device, provider and voip.
func (s *Store) PushBindings(ctx context.Context, app, user string) ([]store.PushBinding, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT app, username, device, provider, voip, token, topic, updated
		FROM push_tokens WHERE app = ? AND username = ? ORDER BY device, provider, voip`, app, user)
	if err != nil {
		return nil, fmt.Errorf("sqlite: push bindings: %w", err)
	}
	defer rows.Close()
	var out []store.PushBinding
	for rows.Next() {
		var b store.PushBinding
		var voip int
		var updated int64
		if err := rows.Scan(&b.App, &b.User, &b.Device, &b.Provider, &voip, &b.Token, &b.Topic, &updated); err != nil {
			return nil, fmt.Errorf("sqlite: push bindings: %w", err)
		}
		b.VoIP, b.Updated = voip != 0, codec.Time(updated)
		out = append(out, b)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: push bindings: %w", err)
	}
	return out, nil
}

// PutPushCredentials inserts or replaces the app's credentials for c.Provider.
func (s *Store) PutPushCredentials(ctx context.Context, c store.PushCredentials) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO push_credentials(app, provider, config, updated) VALUES (?, ?, ?, ?)
		ON CONFLICT(app, provider) DO UPDATE SET config = excluded.config, updated = excluded.updated`,
		c.App, c.Provider, c.Config, codec.Millis(c.Updated))
	switch {
	case isForeignKey(err):
		return fmt.Errorf("sqlite: app %q: %w", c.App, store.ErrNotFound)
	case err != nil:
		return fmt.Errorf("sqlite: put push credentials: %w", err)
	}
	return nil
}

// AddPushCredentials inserts c unless the app has credentials for c.Provider, and reports
// whether it did.
func (s *Store) AddPushCredentials(ctx context.Context, c store.PushCredentials) (bool, error) {
	res, err := s.w.ExecContext(ctx, `INSERT INTO push_credentials(app, provider, config, updated) VALUES (?, ?, ?, ?)
		ON CONFLICT (app, provider) DO NOTHING`, c.App, c.Provider, c.Config, codec.Millis(c.Updated))
	switch {
	case isForeignKey(err):
		return false, fmt.Errorf("sqlite: app %q: %w", c.App, store.ErrNotFound)
	case err != nil:
		return false, fmt.Errorf("sqlite: add push credentials: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("sqlite: add push credentials: %w", err)
	}
	return n == 1, nil
}

// GetPushCredentials returns one app's credentials for provider.
func (s *Store) GetPushCredentials(ctx context.Context, app, provider string) (store.PushCredentials, error) {
	c, err := scanCredentials(s.r.QueryRowContext(ctx, `SELECT app, provider, config, updated FROM push_credentials
		WHERE app = ? AND provider = ?`, app, provider))
	if err != nil {
		return store.PushCredentials{}, notFoundIfNoRows(err, fmt.Sprintf("%s credentials of app %q", provider, app))
	}
	return c, nil
}

// ListPushCredentials returns the app's credentials by provider.
func (s *Store) ListPushCredentials(ctx context.Context, app string) ([]store.PushCredentials, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT app, provider, config, updated FROM push_credentials
		WHERE app = ? ORDER BY provider`, app)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list push credentials: %w", err)
	}
	defer rows.Close()
	var out []store.PushCredentials
	for rows.Next() {
		c, err := scanCredentials(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list push credentials: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list push credentials: %w", err)
	}
	return out, nil
}

// DeletePushCredentials removes the app's credentials for provider.
func (s *Store) DeletePushCredentials(ctx context.Context, app, provider string) error {
	res, err := s.w.ExecContext(ctx, `DELETE FROM push_credentials WHERE app = ? AND provider = ?`, app, provider)
	return requireOne(res, err, "delete push credentials")
}

func scanCredentials(r scanner) (store.PushCredentials, error) {
	var c store.PushCredentials
	var updated int64
	err := r.Scan(&c.App, &c.Provider, &c.Config, &updated)
	c.Updated = codec.Time(updated)
	return c, err
}
