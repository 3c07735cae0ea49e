package account

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"strings"
	"time"

	"github.com/duet-rtc/duet/protocol"
	"github.com/duet-rtc/duet/server/store"
)

// TokenPrefix starts every token duet issues.
const TokenPrefix = "duet_"

// maxTokenLen bounds what Authenticate hashes; issued tokens are 48 bytes.
const maxTokenLen = 256

// Issued is a newly issued token.
type Issued struct {
	// Token is the bearer token. It is shown once: only its hash is stored.
	Token string
	// TTL is the token's lifetime; it expires at Info.Expires.
	TTL time.Duration
	// Info is the token as stored.
	Info store.Token
	// App is the token's app.
	App store.App
	// User is the user of a user token (zero for an app token).
	User store.User
}

// HashToken returns the hex SHA-256 of token, the form in which tokens are stored.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// PasswordToken logs a user in: it checks the password and issues a user token valid for
// ttl (0: DefaultTokenTTL; negative or above MaxTokenTTL: CodeUserIllegalArgument). An
// unknown user and a wrong password both fail with CodeUserAuthFailed, the same message,
// and take the same time.
func (s *Service) PasswordToken(ctx context.Context, appKey, username, password string, ttl time.Duration) (Issued, error) {
	ttl, err := checkTTL(ttl)
	if err != nil {
		return Issued{}, err
	}
	app, err := s.GetApp(ctx, appKey)
	if err != nil {
		return Issued{}, err
	}
	failed := protocol.NewError(protocol.CodeUserAuthFailed, "wrong username or password")
	if checkPassword(password) != nil {
		return Issued{}, failed
	}
	var u store.User
	if name, err := NormalizeUsername(username); err == nil {
		u, err = s.st.GetUser(ctx, app.Key, name)
		if err != nil && !isNotFound(err) {
			return Issued{}, storeError("get user", err, nil, nil)
		}
	}
	ok, err := s.verify(ctx, u.PasswordHash, password) // "" for an unknown user
	if err != nil {
		return Issued{}, err
	}
	if !ok {
		return Issued{}, failed
	}
	iss, err := s.issue(ctx, app, store.TokenUser, u.Username, ttl)
	if err != nil {
		return Issued{}, err
	}
	iss.User = u
	return iss, nil
}

// AppToken issues an app token for the app's client credentials (client_credentials
// grant); wrong credentials fail with CodeUserAuthFailed. ttl is as in PasswordToken.
func (s *Service) AppToken(ctx context.Context, appKey, clientID, clientSecret string, ttl time.Duration) (Issued, error) {
	ttl, err := checkTTL(ttl)
	if err != nil {
		return Issued{}, err
	}
	app, err := s.GetApp(ctx, appKey)
	if err != nil {
		return Issued{}, err
	}
	idOK := subtle.ConstantTimeCompare([]byte(HashToken(clientID)), []byte(HashToken(app.ClientID)))
	if idOK != 1 || !secretMatches(app.ClientSecret, clientSecret) {
		return Issued{}, protocol.NewError(protocol.CodeUserAuthFailed, "wrong client_id or client_secret")
	}
	return s.issue(ctx, app, store.TokenApp, "", ttl)
}

// IssueAppToken issues an app token without credentials, for the admin API.
func (s *Service) IssueAppToken(ctx context.Context, appKey string, ttl time.Duration) (Issued, error) {
	ttl, err := checkTTL(ttl)
	if err != nil {
		return Issued{}, err
	}
	app, err := s.GetApp(ctx, appKey)
	if err != nil {
		return Issued{}, err
	}
	return s.issue(ctx, app, store.TokenApp, "", ttl)
}

func checkTTL(ttl time.Duration) (time.Duration, error) {
	switch {
	case ttl < 0 || ttl > MaxTokenTTL:
		return 0, protocol.NewError(protocol.CodeUserIllegalArgument, "ttl must be 0 (default %d s) to %d s",
			int64(DefaultTokenTTL/time.Second), int64(MaxTokenTTL/time.Second))
	case ttl == 0:
		return DefaultTokenTTL, nil
	}
	return ttl, nil
}

// issue stores and caches a new token.
func (s *Service) issue(ctx context.Context, app store.App, kind, username string, ttl time.Duration) (Issued, error) {
	token := TokenPrefix + randomString(32)
	now := s.now()
	t := store.Token{Hash: HashToken(token), App: app.Key, Kind: kind, Username: username, Created: now, Expires: now.Add(ttl)}
	gen := s.cache.generation()
	if err := s.st.PutToken(ctx, t); err != nil {
		return Issued{}, storeError("put token", err, protocol.NewError(protocol.CodeUserNotFound, "no user %q", username), nil)
	}
	s.cache.add(t, gen) // the device usually connects right after logging in
	return Issued{Token: token, TTL: ttl, Info: t, App: app}, nil
}

// Authenticate returns the stored token for a bearer token: CodeInvalidToken if it is
// unknown (never issued, revoked, or its user deleted) or expired, with a message saying
// which. Tokens are served from an in-memory cache after the first use.
func (s *Service) Authenticate(ctx context.Context, token string) (store.Token, error) {
	if token == "" {
		return store.Token{}, protocol.NewError(protocol.CodeInvalidToken, "missing token")
	}
	if len(token) > maxTokenLen {
		return store.Token{}, protocol.NewError(protocol.CodeInvalidToken, "unknown token")
	}
	hash := HashToken(token)
	t, ok := s.cache.get(hash)
	if !ok {
		gen := s.cache.generation()
		var err error
		t, err = s.st.GetToken(ctx, hash)
		if err != nil {
			return store.Token{}, storeError("get token", err, protocol.NewError(protocol.CodeInvalidToken, "unknown token"), nil)
		}
		s.cache.add(t, gen)
	}
	if !t.Expires.IsZero() && !s.clk.Now().Before(t.Expires) {
		return store.Token{}, protocol.NewError(protocol.CodeInvalidToken, "token expired")
	}
	return t, nil
}

// AuthenticateFor is Authenticate for a token that must belong to the app appKey and,
// when kinds are given, be of one of them; otherwise it fails with CodeInvalidToken.
func (s *Service) AuthenticateFor(ctx context.Context, appKey, token string, kinds ...string) (store.Token, error) {
	t, err := s.Authenticate(ctx, token)
	if err != nil {
		return store.Token{}, err
	}
	if !strings.EqualFold(t.App, appKey) {
		return store.Token{}, protocol.NewError(protocol.CodeInvalidToken, "token of another app")
	}
	if len(kinds) == 0 {
		return t, nil
	}
	for _, k := range kinds {
		if t.Kind == k {
			return t, nil
		}
	}
	return store.Token{}, protocol.NewError(protocol.CodeInvalidToken, "a %s token is required", strings.Join(kinds, " or "))
}

// AuthenticateApp is AuthenticateFor an app token of appKey.
func (s *Service) AuthenticateApp(ctx context.Context, appKey, token string) (store.Token, error) {
	return s.AuthenticateFor(ctx, appKey, token, store.TokenApp)
}

// AuthenticateUser is AuthenticateFor a user token of appKey.
func (s *Service) AuthenticateUser(ctx context.Context, appKey, token string) (store.Token, error) {
	return s.AuthenticateFor(ctx, appKey, token, store.TokenUser)
}

// Revoke deletes a token (logout), then calls OnTokensRevoked for a user token.
// CodeInvalidToken if it is unknown.
func (s *Service) Revoke(ctx context.Context, token string) error {
	if token == "" || len(token) > maxTokenLen {
		return protocol.NewError(protocol.CodeInvalidToken, "unknown token")
	}
	hash := HashToken(token)
	t, _ := s.cache.get(hash)
	if t.Hash == "" {
		t, _ = s.st.GetToken(ctx, hash) // whose it is, for the hook; DeleteToken decides
	}
	err := s.st.DeleteToken(ctx, hash)
	s.cache.drop(hash)
	if err != nil {
		return storeError("delete token", err, protocol.NewError(protocol.CodeInvalidToken, "unknown token"), nil)
	}
	if t.Username != "" {
		s.revoked(Revocation{App: t.App, User: t.Username, TokenHash: hash})
	}
	return nil
}

// Forget drops tokens another process revoked from the cache, so that they are checked in
// the store again: the token with tokenHash, or every token of the user when it is "".
func (s *Service) Forget(app, user, tokenHash string) {
	if tokenHash != "" {
		s.cache.drop(tokenHash)
		return
	}
	s.cache.dropUser(app, user)
}

// expiredTokenDeleter is implemented by stores that can purge expired tokens
// (store/sqlite does).
type expiredTokenDeleter interface {
	DeleteExpiredTokens(ctx context.Context, now time.Time) (int64, error)
}

// PurgeExpiredTokens deletes expired tokens from the store, if the store supports it, and
// reports how many. Expired tokens are rejected either way; this only reclaims space, so
// the server may call it now and then (say hourly).
func (s *Service) PurgeExpiredTokens(ctx context.Context) (int64, error) {
	d, ok := s.st.(expiredTokenDeleter)
	if !ok {
		return 0, nil
	}
	now := s.clk.Now()
	n, err := d.DeleteExpiredTokens(ctx, now)
	s.cache.dropExpired(now)
	if err != nil {
		return 0, storeError("purge tokens", err, nil, nil)
	}
	return n, nil
}
