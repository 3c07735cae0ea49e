package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/duet-rtc/duet/server/store"
	"github.com/duet-rtc/duet/server/store/internal/codec"
)

// PutToken stores t. store.ErrNotFound when its app, or the user of a user token, does not
// exist; store.ErrDuplicate when the hash is already stored.
func (s *Store) PutToken(ctx context.Context, t store.Token) error {
	var user *string // NULL for app tokens: exempt from the users foreign key
	if t.Kind == store.TokenUser || t.Username != "" {
		user = &t.Username
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO tokens(hash, app, kind, username, created, expires)
		VALUES ($1, $2, $3, $4, $5, $6)`, t.Hash, t.App, t.Kind, user, codec.Millis(t.Created), codec.Millis(t.Expires))
	switch {
	case isDuplicate(err):
		return fmt.Errorf("postgres: token: %w", store.ErrDuplicate)
	case isForeignKey(err):
		return fmt.Errorf("postgres: token owner %q in app %q: %w", t.Username, t.App, store.ErrNotFound)
	case err != nil:
		return fmt.Errorf("postgres: put token: %w", err)
	}
	return nil
}

// GetToken returns the token with hash, expired or not, or store.ErrNotFound.
func (s *Store) GetToken(ctx context.Context, hash string) (store.Token, error) {
	var t store.Token
	var user *string
	var created, expires int64
	err := s.pool.QueryRow(ctx, `SELECT hash, app, kind, username, created, expires
		FROM tokens WHERE hash = $1`, hash).Scan(&t.Hash, &t.App, &t.Kind, &user, &created, &expires)
	if err != nil {
		return store.Token{}, notFoundIfNoRows(err, "token")
	}
	if user != nil {
		t.Username = *user
	}
	t.Created, t.Expires = codec.Time(created), codec.Time(expires)
	return t, nil
}

// DeleteToken removes the token with hash; store.ErrNotFound if there is none.
func (s *Store) DeleteToken(ctx context.Context, hash string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM tokens WHERE hash = $1`, hash)
	return requireOne(tag, err, "delete token")
}

// DeleteUserTokens removes every token of the user; it is not an error if there are none.
func (s *Store) DeleteUserTokens(ctx context.Context, app, username string) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM tokens WHERE app = $1 AND username = $2`, app, username); err != nil {
		return fmt.Errorf("postgres: delete tokens of %q in app %q: %w", username, app, err)
	}
	return nil
}

// DeleteExpiredTokens removes the tokens that expired at or before now and reports how many
// it removed. As in store/sqlite it is not part of store.Store; the account service calls
// it when the store has it.
func (s *Store) DeleteExpiredTokens(ctx context.Context, now time.Time) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM tokens WHERE expires > 0 AND expires <= $1`, codec.Millis(now))
	if err != nil {
		return 0, fmt.Errorf("postgres: delete expired tokens: %w", err)
	}
	return tag.RowsAffected(), nil
}
