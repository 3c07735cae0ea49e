package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/duet-rtc/duet/server/store"
	"github.com/duet-rtc/duet/server/store/internal/codec"
)

const userColumns = `app, username, uuid, nickname, password_hash, activated, created, modified`

// CreateUsers inserts all users in one transaction, or none: store.ErrDuplicate when a
// username (compared case-insensitively, within the batch too) or a UUID is taken,
// store.ErrNotFound when a user's app does not exist. Of two transactions creating the
// same username at once, the second waits for the first and then fails with ErrDuplicate.
func (s *Store) CreateUsers(ctx context.Context, users []store.User) error {
	if len(users) == 0 {
		return nil
	}
	return s.inTx(ctx, func(tx pgx.Tx) error {
		var q batch
		for _, u := range users {
			q.add(fmt.Sprintf("create user %q in app %q", u.Username, u.App),
				`INSERT INTO users(`+userColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
				u.App, u.Username, u.UUID, u.Nickname, u.PasswordHash, u.Activated, codec.Millis(u.Created), codec.Millis(u.Modified))
		}
		_, err := q.run(ctx, tx)
		switch {
		case isDuplicate(err):
			return fmt.Errorf("%w: %w", err, store.ErrDuplicate)
		case isForeignKey(err):
			return fmt.Errorf("%w: %w", err, store.ErrNotFound)
		}
		return err
	})
}

// GetUser returns one user (username compared case-insensitively) or store.ErrNotFound.
func (s *Store) GetUser(ctx context.Context, app, username string) (store.User, error) {
	u, err := scanUser(s.pool.QueryRow(ctx,
		`SELECT `+userColumns+` FROM users WHERE app = $1 AND username = $2`, app, username))
	if err != nil {
		return store.User{}, notFoundIfNoRows(err, fmt.Sprintf("user %q in app %q", username, app))
	}
	return u, nil
}

// ListUsers returns up to limit users of app whose usernames sort after cursor ("" starts at
// the beginning), in username order. A limit below 1 means 1.
func (s *Store) ListUsers(ctx context.Context, app, cursor string, limit int) ([]store.User, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+userColumns+` FROM users
		WHERE app = $1 AND username > $2 ORDER BY username LIMIT $3`, app, cursor, max(limit, 1))
	return collect(rows, err, "list users", scanUser)
}

// DeleteUser removes the user and, by cascade in the same statement, the user's tokens,
// messages, cursors and push tokens; store.ErrNotFound if there is no such user.
func (s *Store) DeleteUser(ctx context.Context, app, username string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM users WHERE app = $1 AND username = $2`, app, username)
	return requireOne(tag, err, fmt.Sprintf("delete user %q in app %q", username, app))
}

// SetPassword replaces the user's password hash and bumps Modified to the current time
// (never backwards); store.ErrNotFound if there is no such user.
func (s *Store) SetPassword(ctx context.Context, app, username, hash string) error {
	tag, err := s.pool.Exec(ctx, `UPDATE users SET password_hash = $1,
		modified = greatest(modified, (extract(epoch FROM clock_timestamp()) * 1000)::bigint)
		WHERE app = $2 AND username = $3`, hash, app, username)
	return requireOne(tag, err, fmt.Sprintf("set password of %q in app %q", username, app))
}

func scanUser(r row) (store.User, error) {
	var u store.User
	var created, modified int64
	err := r.Scan(&u.App, &u.Username, &u.UUID, &u.Nickname, &u.PasswordHash, &u.Activated, &created, &modified)
	u.Created, u.Modified = codec.Time(created), codec.Time(modified)
	return u, err
}
