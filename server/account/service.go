// Package account holds the business rules over store.Store for apps, users and tokens:
// validation, password hashing (argon2id), issuing and checking bearer tokens, and the
// in-memory token cache that keeps the WebSocket connect path off the database.
//
// Every error it returns carries a *protocol.Error (test with errors.As or
// protocol.CodeOf); database failures carry CodeDatabase and also wrap the store's error.
package account

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"time"

	"github.com/duet-rtc/duet/internal/clock"
	"github.com/duet-rtc/duet/protocol"
	"github.com/duet-rtc/duet/server/store"
)

// Limits and defaults of the account rules.
const (
	// MaxBatch is the most users one Register or CreateUsers call takes (Easemob's 60).
	MaxBatch = 60
	// MaxPasswordChars is the longest password, in characters.
	MaxPasswordChars = 64
	// MaxNicknameChars is the longest nickname, in characters.
	MaxNicknameChars = 100
	// DefaultTokenTTL is the lifetime of a token issued with ttl 0 (Easemob's default).
	DefaultTokenTTL = 60 * 24 * time.Hour
	// MaxTokenTTL is the longest lifetime a token may be issued with.
	MaxTokenTTL = 10 * 365 * 24 * time.Hour
	// DefaultListLimit and MaxListLimit bound ListUsers pages.
	DefaultListLimit = 20
	MaxListLimit     = 100
)

// Service applies the account rules. Create it with New; set the exported fields before
// first use and do not change them afterwards. It is safe for concurrent use.
type Service struct {
	// Hash is the argon2id cost of new password hashes. Existing hashes keep the cost they
	// were made with, so lowering it (tests, benchmarks) never locks anyone out.
	Hash HashParams

	// OnUserDeleted, if set, is called after DeleteUser removed a user, so that the server
	// can disconnect that user's devices. It must not block.
	OnUserDeleted func(app, user string)

	// OnTokensRevoked, if set, is called after tokens of a user were revoked (Revoke,
	// ChangePassword, RevokeUserTokens), once they are refused, so that the server can
	// disconnect the devices logged in with them. It must not block.
	OnTokensRevoked func(Revocation)

	st    store.Store
	clk   clock.Clock
	cache *tokenCache
	// hashSlots bounds concurrent argon2id computations (each takes Hash.Memory KiB), so a
	// flood of logins queues instead of exhausting memory.
	hashSlots chan struct{}
	dummy     dummyHash
}

// New returns a Service over st; clk tells the time for token expiry.
func New(st store.Store, clk clock.Clock) *Service {
	if clk == nil {
		clk = clock.Real{}
	}
	return &Service{
		Hash:      DefaultHashParams,
		st:        st,
		clk:       clk,
		cache:     newTokenCache(defaultCacheSize, defaultCacheMaxAge),
		hashSlots: make(chan struct{}, max(2, runtime.GOMAXPROCS(0))),
	}
}

// now returns the clock's time as the store keeps it: UTC, whole milliseconds.
func (s *Service) now() time.Time { return time.UnixMilli(s.clk.Now().UnixMilli()).UTC() }

// dbError reports a store failure: CodeDatabase to the client, the cause for the logs.
func dbError(op string, err error) error {
	return fmt.Errorf("%w: %s: %w", protocol.NewError(protocol.CodeDatabase, "database error"), op, err)
}

// storeError maps a store error: store.ErrNotFound and store.ErrDuplicate to the given
// coded errors (which then also wrap the store error), anything else to CodeDatabase.
func storeError(op string, err error, notFound, duplicate *protocol.Error) error {
	switch {
	case notFound != nil && errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("%w: %w", notFound, err)
	case duplicate != nil && errors.Is(err, store.ErrDuplicate):
		return fmt.Errorf("%w: %w", duplicate, err)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%w: %s: %w", protocol.NewError(protocol.CodeServerTimeout, "request cancelled"), op, err)
	}
	return dbError(op, err)
}

func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }

// Revocation tells OnTokensRevoked which tokens were revoked.
type Revocation struct {
	App, User string
	// TokenHash is the revoked token's hash (HashToken); "" when every token of the user was.
	TokenHash string
	// Operator is set when an operator revoked them (RevokeUserTokens) rather than the user.
	Operator bool
}

func (s *Service) revoked(r Revocation) {
	if s.OnTokensRevoked != nil {
		s.OnTokensRevoked(r)
	}
}
