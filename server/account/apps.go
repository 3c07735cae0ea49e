package account

import (
	"context"
	"crypto/subtle"
	"errors"
	"strings"

	"github.com/duet-rtc/duet/protocol"
	"github.com/duet-rtc/duet/server/store"
)

// maxAppPartLen is the longest org or app name.
const maxAppPartLen = 64

// ValidAppPart reports whether s is a valid org or app name: 1-64 bytes of [A-Za-z0-9_-].
func ValidAppPart(s string) bool {
	if len(s) == 0 || len(s) > maxAppPartLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// AppKey returns the app key "org#name" after checking both parts (CodeInvalidAppKey).
func AppKey(org, name string) (string, error) {
	if !ValidAppPart(org) || !ValidAppPart(name) {
		return "", protocol.NewError(protocol.CodeInvalidAppKey, "org and app names are 1-64 characters of [A-Za-z0-9_-]")
	}
	return org + "#" + name, nil
}

// SplitAppKey splits "org#name" and checks both parts (CodeInvalidAppKey).
func SplitAppKey(key string) (org, name string, err error) {
	org, name, ok := strings.Cut(key, "#")
	if !ok {
		return "", "", protocol.NewError(protocol.CodeInvalidAppKey, "app key %q is not org#app", key)
	}
	if _, err := AppKey(org, name); err != nil {
		return "", "", err
	}
	return org, name, nil
}

// CreateApp creates the app "org#name" with fresh client credentials. registration is
// store.RegistrationOpen (also when empty) or store.RegistrationAuthorized. App keys are
// unique case-insensitively: CodeAppAlreadyExist if one exists.
func (s *Service) CreateApp(ctx context.Context, org, name, registration string) (store.App, error) {
	key, err := AppKey(org, name)
	if err != nil {
		return store.App{}, err
	}
	if registration == "" {
		registration = store.RegistrationOpen
	}
	if err := checkRegistration(registration); err != nil {
		return store.App{}, err
	}
	secret := randomString(32)
	app := store.App{
		Key: key, Org: org, Name: name,
		ClientID:     "YXA6" + randomString(16),
		ClientSecret: HashSecret(secret),
		Registration: registration,
		Created:      s.now(),
	}
	if err := s.st.CreateApp(ctx, app); err != nil {
		return store.App{}, storeError("create app", err, nil,
			protocol.NewError(protocol.CodeAppAlreadyExist, "app %q already exists", key))
	}
	app.ClientSecret = secret // shown this once: only its hash is stored
	return app, nil
}

// hashedSecretPrefix starts a client secret stored hashed.
const hashedSecretPrefix = "sha256:"

// HashSecret returns the stored form of a client secret. The secrets are 192-bit random
// strings, so a plain SHA-256 is enough: there is no password to guess.
func HashSecret(secret string) string { return hashedSecretPrefix + HashToken(secret) }

// SecretHashed reports whether a stored client secret is hashed (apps from before are not
// until HashClientSecrets ran).
func SecretHashed(stored string) bool { return strings.HasPrefix(stored, hashedSecretPrefix) }

// secretMatches compares a presented client secret with the stored one, in constant time.
func secretMatches(stored, presented string) bool {
	want := stored
	if !SecretHashed(stored) {
		want = HashSecret(stored)
	}
	return subtle.ConstantTimeCompare([]byte(HashSecret(presented)), []byte(want)) == 1
}

// HashClientSecrets replaces every client secret stored in clear (apps created before
// secrets were hashed) by its hash, and reports how many it changed. The secrets keep
// working; the server runs it at every start.
func (s *Service) HashClientSecrets(ctx context.Context) (int, error) {
	apps, err := s.ListApps(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, app := range apps {
		if SecretHashed(app.ClientSecret) {
			continue
		}
		if err := s.st.SetAppSecret(ctx, app.Key, HashSecret(app.ClientSecret)); err != nil {
			return n, storeError("hash client secret", err, nil, nil)
		}
		n++
	}
	return n, nil
}

// RotateClientSecret gives the app a new client secret and returns the app with it, shown
// this once. The old secret stops working; app tokens issued with it stay valid.
func (s *Service) RotateClientSecret(ctx context.Context, key string) (store.App, error) {
	app, err := s.GetApp(ctx, key)
	if err != nil {
		return store.App{}, err
	}
	secret := randomString(32)
	if err := s.st.SetAppSecret(ctx, app.Key, HashSecret(secret)); err != nil {
		return store.App{}, storeError("set client secret", err, protocol.NewError(protocol.CodeInvalidAppKey, "no app %q", key), nil)
	}
	app.ClientSecret = secret
	return app, nil
}

// SetRegistration changes the app's registration mode (store.RegistrationOpen or
// store.RegistrationAuthorized) and returns the app; users already registered stay.
func (s *Service) SetRegistration(ctx context.Context, key, registration string) (store.App, error) {
	if err := checkRegistration(registration); err != nil {
		return store.App{}, err
	}
	app, err := s.GetApp(ctx, key)
	if err != nil {
		return store.App{}, err
	}
	if err := s.st.SetAppRegistration(ctx, app.Key, registration); err != nil {
		return store.App{}, storeError("set registration", err, protocol.NewError(protocol.CodeInvalidAppKey, "no app %q", key), nil)
	}
	app.Registration = registration
	return app, nil
}

// checkRegistration refuses what is not a registration mode (CodeUserIllegalArgument).
func checkRegistration(registration string) error {
	switch registration {
	case store.RegistrationOpen, store.RegistrationAuthorized:
		return nil
	}
	return protocol.NewError(protocol.CodeUserIllegalArgument,
		"registration must be %q or %q", store.RegistrationOpen, store.RegistrationAuthorized)
}

// GetApp returns the app with key "org#name" (compared case-insensitively);
// CodeInvalidAppKey if there is none.
func (s *Service) GetApp(ctx context.Context, key string) (store.App, error) {
	if _, _, err := SplitAppKey(key); err != nil {
		return store.App{}, err
	}
	app, err := s.st.GetApp(ctx, key)
	if err != nil {
		return store.App{}, storeError("get app", err,
			protocol.NewError(protocol.CodeInvalidAppKey, "no app %q", key), nil)
	}
	return app, nil
}

// ListApps returns every app, in key order.
func (s *Service) ListApps(ctx context.Context) ([]store.App, error) {
	apps, err := s.st.ListApps(ctx)
	if err != nil {
		return nil, storeError("list apps", err, nil, nil)
	}
	return apps, nil
}

// EnsureApp returns the app "org#name", creating it with registration if it does not
// exist yet; created tells which. An existing app is returned as it is, whatever its
// registration mode.
func (s *Service) EnsureApp(ctx context.Context, org, name, registration string) (app store.App, created bool, err error) {
	key, err := AppKey(org, name)
	if err != nil {
		return store.App{}, false, err
	}
	app, err = s.GetApp(ctx, key)
	if err == nil {
		return app, false, nil
	}
	if protocol.CodeOf(err) != protocol.CodeInvalidAppKey {
		return store.App{}, false, err
	}
	app, err = s.CreateApp(ctx, org, name, registration)
	if err == nil {
		return app, true, nil
	}
	var pe *protocol.Error
	if errors.As(err, &pe) && pe.Code == protocol.CodeAppAlreadyExist { // created meanwhile
		app, err = s.GetApp(ctx, key)
		return app, false, err
	}
	return store.App{}, false, err
}
