package account

import (
	"context"
	"errors"

	"github.com/duet-rtc/duet/server/store"
)

// SessionStatus is what the store says now of the token a connected device logged in with.
type SessionStatus int

const (
	// SessionValid means the token is still stored (it may have expired: a connection outlives
	// its token's expiry, as it always has).
	SessionValid SessionStatus = iota
	// SessionRevoked means the token is gone (logout, password change, revocation), the user is not.
	SessionRevoked
	// SessionUserDeleted means the token is gone with its user.
	SessionUserDeleted
)

// ForgetAll empties the token cache: every token is read from the store again at its next
// use. A node does it when it may have missed revocations made elsewhere.
func (s *Service) ForgetAll() { s.cache.dropAll() }

// CheckSession reads the token with hash (a session, see HashToken) from the store rather
// than the cache, and drops it from the cache, so that a revocation another node made while
// this one could not hear of it is found: it is how a node that lost its cluster connection
// catches up with the revocations it missed.
func (s *Service) CheckSession(ctx context.Context, appKey, username, hash string) (SessionStatus, error) {
	s.cache.drop(hash)
	_, err := s.st.GetToken(ctx, hash)
	if err == nil {
		return SessionValid, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return SessionValid, storeError("get token", err, nil, nil)
	}
	if _, err := s.st.GetUser(ctx, appKey, username); errors.Is(err, store.ErrNotFound) {
		return SessionUserDeleted, nil
	} else if err != nil {
		return SessionRevoked, storeError("get user", err, nil, nil)
	}
	return SessionRevoked, nil
}
