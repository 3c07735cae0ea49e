package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/duet-rtc/duet/server/store"
	"github.com/duet-rtc/duet/server/store/internal/codec"
)

var _ store.ContactStore = (*Store)(nil)

// AddContact implements store.ContactStore.
func (s *Store) AddContact(ctx context.Context, app, owner, contact string, at time.Time) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO contacts(app, owner, contact, created) VALUES (?, ?, ?, ?)
		ON CONFLICT(app, owner, contact) DO NOTHING`, app, owner, contact, codec.Millis(at))
	switch {
	case isForeignKey(err):
		return fmt.Errorf("sqlite: contact %q of %q in app %q: %w", contact, owner, app, store.ErrNotFound)
	case err != nil:
		return fmt.Errorf("sqlite: add contact: %w", err)
	}
	return nil
}

// RemoveContact implements store.ContactStore.
func (s *Store) RemoveContact(ctx context.Context, app, owner, contact string) error {
	res, err := s.w.ExecContext(ctx, `DELETE FROM contacts WHERE app = ? AND owner = ? AND contact = ?`, app, owner, contact)
	return requireOne(res, err, fmt.Sprintf("contact %q of %q", contact, owner))
}

// ListContacts implements store.ContactStore.
func (s *Store) ListContacts(ctx context.Context, app, owner, cursor string, limit int) ([]string, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT contact FROM contacts WHERE app = ? AND owner = ? AND contact > ?
		ORDER BY contact LIMIT ?`, app, owner, cursor, max(limit, 1))
	return collect(rows, err, "list contacts", func(r scanner) (c string, err error) { return c, r.Scan(&c) })
}

// CountContacts implements store.ContactStore.
func (s *Store) CountContacts(ctx context.Context, app, owner string) (int, error) {
	var n int
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM contacts WHERE app = ? AND owner = ?`, app, owner).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlite: count contacts: %w", err)
	}
	return n, nil
}

// HasContact implements store.ContactStore.
func (s *Store) HasContact(ctx context.Context, app, owner, contact string) (bool, error) {
	var one int
	err := s.r.QueryRowContext(ctx, `SELECT 1 FROM contacts WHERE app = ? AND owner = ? AND contact = ?`,
		app, owner, contact).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("sqlite: has contact: %w", err)
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
	rows, err := s.r.QueryContext(ctx, `SELECT `+userColumns+` FROM users
		WHERE app = ? AND username `+op+` ? AND username < ? ORDER BY username LIMIT ?`,
		app, lo, store.PrefixEnd(prefix), max(limit, 1))
	return collect(rows, err, "search users", scanUser)
}

// PresencePolicy implements store.ContactStore.
func (s *Store) PresencePolicy(ctx context.Context, app string) (string, error) {
	var p string
	err := s.r.QueryRowContext(ctx, `SELECT policy FROM app_presence WHERE app = ?`, app).Scan(&p)
	if errors.Is(err, sql.ErrNoRows) {
		return store.PresenceApp, nil
	}
	if err != nil {
		return "", fmt.Errorf("sqlite: presence policy: %w", err)
	}
	return p, nil
}

// SetPresencePolicy implements store.ContactStore.
func (s *Store) SetPresencePolicy(ctx context.Context, app, policy string) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO app_presence(app, policy) VALUES (?, ?)
		ON CONFLICT(app) DO UPDATE SET policy = excluded.policy`, app, policy)
	switch {
	case isForeignKey(err):
		return fmt.Errorf("sqlite: app %q: %w", app, store.ErrNotFound)
	case err != nil:
		return fmt.Errorf("sqlite: set presence policy: %w", err)
	}
	return nil
}
