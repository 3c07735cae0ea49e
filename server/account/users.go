package account

import (
	"context"
	"sync"
	"unicode/utf8"

	"github.com/duet-rtc/duet/protocol"
	"github.com/duet-rtc/duet/server/store"
)

// NewUser is one user to register.
type NewUser struct {
	Username string
	Password string
	Nickname string
}

// NormalizeUsername checks a username and returns it lower-cased: CodeUsernameTooLong over
// 64 bytes, CodeInvalidUsername when empty or not of [A-Za-z0-9_.-].
func NormalizeUsername(name string) (string, error) {
	if len(name) > protocol.MaxUsernameBytes {
		return "", protocol.NewError(protocol.CodeUsernameTooLong, "username longer than %d bytes", protocol.MaxUsernameBytes)
	}
	if !protocol.ValidUsername(name) {
		return "", protocol.NewError(protocol.CodeInvalidUsername, "username must be 1-%d characters of [A-Za-z0-9_.-]", protocol.MaxUsernameBytes)
	}
	return protocol.NormalizeUsername(name), nil
}

// checkPassword enforces 1-64 characters of valid UTF-8 (CodeInvalidPassword).
func checkPassword(p string) error {
	if p == "" || !utf8.ValidString(p) || utf8.RuneCountInString(p) > MaxPasswordChars {
		return protocol.NewError(protocol.CodeInvalidPassword, "password must be 1-%d characters", MaxPasswordChars)
	}
	return nil
}

// checkNickname enforces at most 100 characters of valid UTF-8 (CodeUserIllegalArgument).
func checkNickname(n string) error {
	if !utf8.ValidString(n) || utf8.RuneCountInString(n) > MaxNicknameChars {
		return protocol.NewError(protocol.CodeUserIllegalArgument, "nickname must be at most %d characters", MaxNicknameChars)
	}
	return nil
}

// Register creates users in the app appKey, all or none, following the app's registration
// mode: an open app takes anyone (appToken is ignored); an authorized app needs a valid app
// token of that app (CodeRegistrationClosed without one, CodeInvalidToken for a bad one).
// See CreateUsers for the rules on users.
func (s *Service) Register(ctx context.Context, appKey string, reqs []NewUser, appToken string) ([]store.User, error) {
	app, err := s.GetApp(ctx, appKey)
	if err != nil {
		return nil, err
	}
	if app.Registration != store.RegistrationOpen {
		if appToken == "" {
			return nil, protocol.NewError(protocol.CodeRegistrationClosed, "app %q registers users only with its app token", app.Key)
		}
		if _, err := s.AuthenticateApp(ctx, app.Key, appToken); err != nil {
			return nil, err
		}
	}
	return s.createUsers(ctx, app, reqs)
}

// CreateUsers creates users in the app appKey, all or none, whatever its registration mode
// (for the admin API). At most MaxBatch users; usernames are checked with
// NormalizeUsername and stored lower-cased; passwords are 1-64 characters
// (CodeInvalidPassword); nicknames at most 100. A username that exists, or appears twice in
// reqs, fails the batch with CodeUserAlreadyExist.
func (s *Service) CreateUsers(ctx context.Context, appKey string, reqs []NewUser) ([]store.User, error) {
	app, err := s.GetApp(ctx, appKey)
	if err != nil {
		return nil, err
	}
	return s.createUsers(ctx, app, reqs)
}

func (s *Service) createUsers(ctx context.Context, app store.App, reqs []NewUser) ([]store.User, error) {
	if len(reqs) == 0 {
		return nil, protocol.NewError(protocol.CodeUserIllegalArgument, "no users to register")
	}
	if len(reqs) > MaxBatch {
		return nil, protocol.NewError(protocol.CodeUserIllegalArgument, "at most %d users per request", MaxBatch)
	}
	now := s.now()
	users := make([]store.User, len(reqs))
	seen := make(map[string]bool, len(reqs))
	for i, r := range reqs {
		name, err := NormalizeUsername(r.Username)
		if err != nil {
			return nil, err
		}
		if name == "." || name == ".." {
			// Valid characters, but a path segment: /users/.. is another URL, so such a user
			// could never be fetched or deleted through the REST API.
			return nil, protocol.NewError(protocol.CodeInvalidUsername, "username %q is a path segment", name)
		}
		if seen[name] {
			return nil, protocol.NewError(protocol.CodeUserAlreadyExist, "username %q appears twice", name)
		}
		seen[name] = true
		if err := checkPassword(r.Password); err != nil {
			return nil, err
		}
		if err := checkNickname(r.Nickname); err != nil {
			return nil, err
		}
		users[i] = store.User{UUID: newUUID(), App: app.Key, Username: name, Nickname: r.Nickname,
			Activated: true, Created: now, Modified: now}
	}

	// Hash in parallel, as many at once as there are hashing slots.
	var wg sync.WaitGroup
	errs := make([]error, len(users))
	for i := range users {
		wg.Go(func() {
			users[i].PasswordHash, errs[i] = s.hash(ctx, reqs[i].Password)
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}

	if err := s.st.CreateUsers(ctx, users); err != nil {
		return nil, storeError("create users", err,
			protocol.NewError(protocol.CodeInvalidAppKey, "no app %q", app.Key),
			protocol.NewError(protocol.CodeUserAlreadyExist, "user already exists"))
	}
	return users, nil
}

// GetUser returns one user; CodeUserNotFound if there is none.
func (s *Service) GetUser(ctx context.Context, appKey, username string) (store.User, error) {
	name, err := NormalizeUsername(username)
	if err != nil {
		return store.User{}, err
	}
	u, err := s.st.GetUser(ctx, appKey, name)
	if err != nil {
		return store.User{}, storeError("get user", err, protocol.NewError(protocol.CodeUserNotFound, "no user %q", name), nil)
	}
	return u, nil
}

// ListUsers returns a page of the app's users in username order, starting after cursor
// ("" for the first page), and the cursor of the next page ("" on the last). limit is
// 1-100; 0 or less means 20, more than 100 means 100.
func (s *Service) ListUsers(ctx context.Context, appKey, cursor string, limit int) ([]store.User, string, error) {
	if limit <= 0 {
		limit = DefaultListLimit
	}
	limit = min(limit, MaxListLimit)
	if cursor != "" && !protocol.ValidUsername(cursor) {
		return nil, "", protocol.NewError(protocol.CodeBadMessage, "invalid cursor")
	}
	users, err := s.st.ListUsers(ctx, appKey, protocol.NormalizeUsername(cursor), limit+1)
	if err != nil {
		return nil, "", storeError("list users", err, nil, nil)
	}
	next := ""
	if len(users) > limit {
		users = users[:limit]
		next = users[limit-1].Username
	}
	return users, next, nil
}

// DeleteUser deletes a user and every token of the user (CodeUserNotFound if there is no
// such user), then calls OnUserDeleted.
func (s *Service) DeleteUser(ctx context.Context, appKey, username string) error {
	name, err := NormalizeUsername(username)
	if err != nil {
		return err
	}
	app, err := s.GetApp(ctx, appKey) // the hook gets the app key as stored
	if err != nil {
		return err
	}
	appKey = app.Key
	err = s.st.DeleteUser(ctx, appKey, name)
	s.cache.dropUser(appKey, name) // also on failure: the store may have deleted them anyway
	if err != nil {
		return storeError("delete user", err, protocol.NewError(protocol.CodeUserNotFound, "no user %q", name), nil)
	}
	if s.OnUserDeleted != nil {
		s.OnUserDeleted(appKey, name)
	}
	return nil
}

// ChangePassword sets a user's password (checked as in CreateUsers) and revokes every token
// of the user, the one used to ask included: each device must log in again with the new
// password. Then it calls OnTokensRevoked. (Easemob keeps old tokens valid; duet does not,
// so that changing a leaked password also shuts out whoever leaked it.)
func (s *Service) ChangePassword(ctx context.Context, appKey, username, newPassword string) error {
	name, err := NormalizeUsername(username)
	if err != nil {
		return err
	}
	if err := checkPassword(newPassword); err != nil {
		return err
	}
	app, err := s.GetApp(ctx, appKey)
	if err != nil {
		return err
	}
	appKey = app.Key
	hash, err := s.hash(ctx, newPassword)
	if err != nil {
		return err
	}
	if err := s.st.SetPassword(ctx, appKey, name, hash); err != nil {
		return storeError("set password", err, protocol.NewError(protocol.CodeUserNotFound, "no user %q", name), nil)
	}
	return s.revokeUser(ctx, appKey, name, false)
}

// RevokeUserTokens revokes every token of a user (an operator's kick): its devices must log
// in again. CodeUserNotFound if there is no such user. Then it calls OnTokensRevoked.
func (s *Service) RevokeUserTokens(ctx context.Context, appKey, username string) error {
	u, err := s.GetUser(ctx, appKey, username)
	if err != nil {
		return err
	}
	return s.revokeUser(ctx, u.App, u.Username, true)
}

func (s *Service) revokeUser(ctx context.Context, appKey, name string, operator bool) error {
	err := s.st.DeleteUserTokens(ctx, appKey, name)
	s.cache.dropUser(appKey, name)
	if err != nil {
		return storeError("revoke tokens", err, nil, nil)
	}
	s.revoked(Revocation{App: appKey, User: name, Operator: operator})
	return nil
}
