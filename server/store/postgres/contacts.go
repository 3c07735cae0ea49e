package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/duet-rtc/duet/server/store"
	"github.com/duet-rtc/duet/server/store/internal/codec"
)

var _ store.ContactStore = (*Store)(nil)

// AddContact implements store.ContactStore.
func (s *Store) AddContact(ctx context.Context, app, owner, contact string, at time.Time) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO contacts(app, owner, contact, created) VALUES ($1, $2, $3, $4)
		ON CONFLICT (app, owner, contact) DO NOTHING`, app, owner, contact, codec.Millis(at))
	switch {
	case isForeignKey(err):
		return fmt.Errorf("postgres: contact %q of %q in app %q: %w", contact, owner, app, store.ErrNotFound)
	case err != nil:
		return fmt.Errorf("postgres: add contact: %w", err)
	}
	return nil
}

// RemoveContact implements store.ContactStore.
func (s *Store) RemoveContact(ctx context.Context, app, owner, contact string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM contacts WHERE app = $1 AND owner = $2 AND contact = $3`, app, owner, contact)
	return requireOne(tag, err, fmt.Sprintf("contact %q of %q", contact, owner))
}

// ListContacts implements store.ContactStore.
func (s *Store) ListContacts(ctx context.Context, app, owner, cursor string, limit int) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT contact::text FROM contacts WHERE app = $1 AND owner = $2 AND contact > $3
		ORDER BY contact LIMIT $4`, app, owner, cursor, max(limit, 1))
	return collect(rows, err, "list contacts", func(r row) (string, error) {
		var c string
		return c, r.Scan(&c)
	})
}

// CountContacts implements store.ContactStore.
func (s *Store) CountContacts(ctx context.Context, app, owner string) (int, error) {
	var n int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM contacts WHERE app = $1 AND owner = $2`, app, owner).Scan(&n); err != nil {
		return 0, fmt.Errorf("postgres: count contacts: %w", err)
	}
	return n, nil
}

// HasContact implements store.ContactStore.
func (s *Store) HasContact(ctx context.Context, app, owner, contact string) (bool, error) {
	var one int
	err := s.pool.QueryRow(ctx, `SELECT 1 FROM contacts WHERE app = $1 AND owner = $2 AND contact = $3`,
		app, owner, contact).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("postgres: has contact: %w", err)
	}
	return true, nil
}

// SearchUsers implements store.ContactStore: a range over the primary key, not a LIKE
// (whose _ would match any character).
func (s *Store) SearchUsers(ctx context.Context, app, prefix, cursor string, limit int) ([]store.User, error) {
	lo := max(cursor, prefix)
	op := ">"
	if cursor < prefix {
		op = ">="
	}
	rows, err := s.pool.Query(ctx, `SELECT `+userColumns+` FROM users
		WHERE app = $1 AND username `+op+` $2 AND username < $3 ORDER BY username LIMIT $4`,
		app, lo, store.PrefixEnd(prefix), max(limit, 1))
	return collect(rows, err, "search users", scanUser)
}

// PresencePolicy implements store.ContactStore.
func (s *Store) PresencePolicy(ctx context.Context, app string) (string, error) {
	var p string
	err := s.pool.QueryRow(ctx, `SELECT policy FROM app_presence WHERE app = $1`, app).Scan(&p)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.PresenceApp, nil
	}
	if err != nil {
		return "", fmt.Errorf("postgres: presence policy: %w", err)
	}
	return p, nil
}

// SetPresencePolicy implements store.ContactStore.
func (s *Store) SetPresencePolicy(ctx context.Context, app, policy string) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO app_presence(app, policy) VALUES ($1, $2)
		ON CONFLICT (app) DO UPDATE SET policy = excluded.policy`, app, policy)
	switch {
	case isForeignKey(err):
		return fmt.Errorf("postgres: app %q: %w", app, store.ErrNotFound)
	case err != nil:
		return fmt.Errorf("postgres: set presence policy: %w", err)
	}
	return nil
}
