package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/duet-rtc/duet/server/store"
	"github.com/duet-rtc/duet/server/store/internal/codec"
)

// PutToken stores t. store.ErrNotFound when its app, or the user of a user token, does not
// exist; store.ErrDuplicate when the hash is already stored.
func (s *Store) PutToken(ctx context.Context, t store.Token) error {
	var user sql.NullString
	if t.Kind == store.TokenUser || t.Username != "" {
		user = sql.NullString{String: t.Username, Valid: true}
	}
	_, err := s.w.ExecContext(ctx, `INSERT INTO tokens(hash, app, kind, username, created, expires)
		VALUES (?, ?, ?, ?, ?, ?)`, t.Hash, t.App, t.Kind, user, codec.Millis(t.Created), codec.Millis(t.Expires))
	switch {
	case isDuplicate(err):
		return fmt.Errorf("sqlite: token: %w", store.ErrDuplicate)
	case isForeignKey(err):
		return fmt.Errorf("sqlite: token owner %q in app %q: %w", t.Username, t.App, store.ErrNotFound)
	case err != nil:
		return fmt.Errorf("sqlite: put token: %w", err)
	}
	return nil
}

// GetToken returns the token with hash, expired or not, or store.ErrNotFound.
func (s *Store) GetToken(ctx context.Context, hash string) (store.Token, error) {
	var t store.Token
	var user sql.NullString
	var created, expires int64
	err := s.r.QueryRowContext(ctx, `SELECT hash, app, kind, username, created, expires
		FROM tokens WHERE hash = ?`, hash).Scan(&t.Hash, &t.App, &t.Kind, &user, &created, &expires)
	if err != nil {
		return store.Token{}, notFoundIfNoRows(err, "token")
	}
	t.Username = user.String
	t.Created, t.Expires = codec.Time(created), codec.Time(expires)
	return t, nil
}

// DeleteToken removes the token with hash; store.ErrNotFound if there is none.
func (s *Store) DeleteToken(ctx context.Context, hash string) error {
	res, err := s.w.ExecContext(ctx, `DELETE FROM tokens WHERE hash = ?`, hash)
	return requireOne(res, err, "delete token")
}

// DeleteUserTokens removes every token of the user; it is not an error if there are none.
func (s *Store) DeleteUserTokens(ctx context.Context, app, username string) error {
	_, err := s.w.ExecContext(ctx, `DELETE FROM tokens WHERE app = ? AND username = ?`, app, username)
	if err != nil {
		return fmt.Errorf("sqlite: delete tokens of %q in app %q: %w", username, app, err)
	}
	return nil
}

// DeleteExpiredTokens removes the tokens that expired at or before now and reports how many
// it removed. It is not part of store.Store; the account service calls it when the store
// has it.
func (s *Store) DeleteExpiredTokens(ctx context.Context, now time.Time) (int64, error) {
	res, err := s.w.ExecContext(ctx, `DELETE FROM tokens WHERE expires > 0 AND expires <= ?`, codec.Millis(now))
	if err != nil {
		return 0, fmt.Errorf("sqlite: delete expired tokens: %w", err)
	}
	return res.RowsAffected()
}
