package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/duet-rtc/duet/server/store"
	"github.com/duet-rtc/duet/server/store/internal/codec"
)

const userColumns = `app, username, uuid, nickname, password_hash, activated, created, modified`

// CreateUsers inserts all users in one transaction, or none: store.ErrDuplicate when a
// username (compared case-insensitively, within the batch too) or a UUID is taken,
// store.ErrNotFound when a user's app does not exist.
func (s *Store) CreateUsers(ctx context.Context, users []store.User) error {
	if len(users) == 0 {
		return nil
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO users(`+userColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return fmt.Errorf("sqlite: create users: %w", err)
		}
		defer stmt.Close()
		for _, u := range users {
			_, err := stmt.ExecContext(ctx, u.App, u.Username, u.UUID, u.Nickname, u.PasswordHash,
				boolInt(u.Activated), codec.Millis(u.Created), codec.Millis(u.Modified))
			switch {
			case isDuplicate(err):
				return fmt.Errorf("sqlite: user %q in app %q: %w", u.Username, u.App, store.ErrDuplicate)
			case isForeignKey(err):
				return fmt.Errorf("sqlite: app %q: %w", u.App, store.ErrNotFound)
			case err != nil:
				return fmt.Errorf("sqlite: create user %q: %w", u.Username, err)
			}
		}
		return nil
	})
}

// GetUser returns one user (username compared case-insensitively) or store.ErrNotFound.
func (s *Store) GetUser(ctx context.Context, app, username string) (store.User, error) {
	u, err := scanUser(s.r.QueryRowContext(ctx,
		`SELECT `+userColumns+` FROM users WHERE app = ? AND username = ?`, app, username))
	if err != nil {
		return store.User{}, notFoundIfNoRows(err, fmt.Sprintf("user %q in app %q", username, app))
	}
	return u, nil
}

// ListUsers returns up to limit users of app whose usernames sort after cursor ("" starts at
// the beginning), in username order. A limit below 1 means 1.
func (s *Store) ListUsers(ctx context.Context, app, cursor string, limit int) ([]store.User, error) {
	limit = max(limit, 1)
	rows, err := s.r.QueryContext(ctx, `SELECT `+userColumns+` FROM users
		WHERE app = ? AND username > ? ORDER BY username LIMIT ?`, app, cursor, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list users: %w", err)
	}
	defer rows.Close()
	users := make([]store.User, 0, min(limit, 100))
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list users: %w", err)
		}
		users = append(users, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list users: %w", err)
	}
	return users, nil
}

// DeleteUser removes the user and, by cascade in the same statement, the user's tokens;
// store.ErrNotFound if there is no such user.
func (s *Store) DeleteUser(ctx context.Context, app, username string) error {
	res, err := s.w.ExecContext(ctx, `DELETE FROM users WHERE app = ? AND username = ?`, app, username)
	return requireOne(res, err, fmt.Sprintf("delete user %q in app %q", username, app))
}

// SetPassword replaces the user's password hash and bumps Modified to the current time;
// store.ErrNotFound if there is no such user.
func (s *Store) SetPassword(ctx context.Context, app, username, hash string) error {
	res, err := s.w.ExecContext(ctx, `UPDATE users SET password_hash = ?,
		modified = max(modified, CAST(unixepoch('subsec') * 1000 AS INTEGER))
		WHERE app = ? AND username = ?`, hash, app, username)
	return requireOne(res, err, fmt.Sprintf("set password of %q in app %q", username, app))
}

func scanUser(r scanner) (store.User, error) {
	var u store.User
	var activated int
	var created, modified int64
	err := r.Scan(&u.App, &u.Username, &u.UUID, &u.Nickname, &u.PasswordHash, &activated, &created, &modified)
	u.Activated = activated != 0
	u.Created, u.Modified = codec.Time(created), codec.Time(modified)
	return u, err
}
