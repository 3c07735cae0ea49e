package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/duet-rtc/duet/server/store"
)

func testApps(t *testing.T, s store.Backend) {
	ctx := context.Background()
	a := CreateApp(t, s, "org#b")
	b := CreateApp(t, s, "org#a")

	dup := a
	dup.Key, dup.ClientID = "ORG#B", "other"
	if err := s.CreateApp(ctx, dup); !errors.Is(err, store.ErrDuplicate) {
		t.Errorf("CreateApp with a key differing in case: %v; want ErrDuplicate", err)
	}
	dup = a
	dup.Key = "org#c" // same client id
	if err := s.CreateApp(ctx, dup); !errors.Is(err, store.ErrDuplicate) {
		t.Errorf("CreateApp with a taken client id: %v; want ErrDuplicate", err)
	}
	if got, err := s.GetApp(ctx, "Org#B"); err != nil || got != a {
		t.Errorf("GetApp case-insensitive = %+v, %v", got, err)
	}
	if _, err := s.GetApp(ctx, "org#none"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetApp unknown: %v; want ErrNotFound", err)
	}
	apps, err := s.ListApps(ctx)
	if err != nil || len(apps) != 2 || apps[0] != b || apps[1] != a {
		t.Errorf("ListApps = %+v, %v", apps, err)
	}

	if err := s.SetAppSecret(ctx, "ORG#b", "sha256:new"); err != nil {
		t.Fatalf("SetAppSecret: %v", err)
	}
	a.ClientSecret = "sha256:new"
	if got, err := s.GetApp(ctx, "org#b"); err != nil || got != a {
		t.Errorf("GetApp after SetAppSecret = %+v, %v", got, err)
	}
	if err := s.SetAppSecret(ctx, "org#none", "x"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("SetAppSecret of an unknown app: %v; want ErrNotFound", err)
	}
	if err := s.SetAppRegistration(ctx, "ORG#b", store.RegistrationAuthorized); err != nil {
		t.Fatalf("SetAppRegistration: %v", err)
	}
	a.Registration = store.RegistrationAuthorized
	if got, err := s.GetApp(ctx, "org#b"); err != nil || got != a {
		t.Errorf("GetApp after SetAppRegistration = %+v, %v", got, err)
	}
	if err := s.SetAppRegistration(ctx, "org#none", store.RegistrationOpen); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("SetAppRegistration of an unknown app: %v; want ErrNotFound", err)
	}
}

func testCreateUsersAllOrNothing(t *testing.T, s store.Backend) {
	ctx := context.Background()
	app := CreateApp(t, s, "org#app").Key
	if err := s.CreateUsers(ctx, []store.User{User(app, "alice")}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateUsers(ctx, nil); err != nil {
		t.Errorf("CreateUsers(nil) = %v", err)
	}

	clash := User(app, "ALICE")
	clash.UUID = "other"
	cases := map[string][]store.User{
		"existing user, other case": {User(app, "bob"), clash},
		"duplicate in batch":        {User(app, "carol"), func() store.User { u := User(app, "carol"); u.UUID = "x"; return u }()},
		"duplicate uuid":            {User(app, "dave"), func() store.User { u := User(app, "erin"); u.UUID = User(app, "dave").UUID; return u }()},
	}
	for name, batch := range cases {
		if err := s.CreateUsers(ctx, batch); !errors.Is(err, store.ErrDuplicate) {
			t.Errorf("%s: CreateUsers = %v; want ErrDuplicate", name, err)
		}
		for _, u := range batch {
			if u.Username == "ALICE" {
				continue
			}
			if _, err := s.GetUser(ctx, app, u.Username); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("%s: %q was inserted by a failed batch (%v)", name, u.Username, err)
			}
		}
	}
	if err := s.CreateUsers(ctx, []store.User{User("org#none", "zed")}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("CreateUsers in unknown app = %v; want ErrNotFound", err)
	}
}

func testUsers(t *testing.T, s store.Backend) {
	ctx := context.Background()
	app := CreateApp(t, s, "org#app").Key
	other := CreateApp(t, s, "org#other").Key
	var batch []store.User
	for i := range 5 {
		batch = append(batch, User(app, fmt.Sprintf("user%d", i)))
	}
	batch = append(batch, User(other, "user0"))
	if err := s.CreateUsers(ctx, batch); err != nil {
		t.Fatal(err)
	}

	if got, err := s.GetUser(ctx, app, "USER3"); err != nil || got != batch[3] {
		t.Errorf("GetUser case-insensitive = %+v, %v", got, err)
	}
	if _, err := s.GetUser(ctx, app, "nobody"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetUser unknown = %v", err)
	}

	// Paging by cursor.
	var names []string
	cursor := ""
	for {
		page, err := s.ListUsers(ctx, app, cursor, 2)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		for _, u := range page {
			names = append(names, u.Username)
		}
		cursor = page[len(page)-1].Username
	}
	if fmt.Sprint(names) != "[user0 user1 user2 user3 user4]" {
		t.Errorf("paged users = %v", names)
	}
	if page, err := s.ListUsers(ctx, app, "", 0); err != nil || len(page) != 1 {
		t.Errorf("ListUsers limit 0 = %d users, %v; want 1", len(page), err)
	}

	// SetPassword.
	if err := s.SetPassword(ctx, app, "User1", "newhash"); err != nil {
		t.Fatal(err)
	}
	got, _ := s.GetUser(ctx, app, "user1")
	if got.PasswordHash != "newhash" || !got.Modified.After(t0) {
		t.Errorf("after SetPassword: hash %q modified %v", got.PasswordHash, got.Modified)
	}
	if err := s.SetPassword(ctx, app, "nobody", "h"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("SetPassword unknown = %v", err)
	}

	// DeleteUser takes the user's tokens along, and nothing else.
	tok := store.Token{Hash: "h1", App: app, Kind: store.TokenUser, Username: "user2", Created: t0}
	keep := store.Token{Hash: "h2", App: other, Kind: store.TokenUser, Username: "user0", Created: t0}
	appTok := store.Token{Hash: "h3", App: app, Kind: store.TokenApp, Created: t0}
	for _, tk := range []store.Token{tok, keep, appTok} {
		if err := s.PutToken(ctx, tk); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.DeleteUser(ctx, app, "USER2"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetUser(ctx, app, "user2"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("user survived DeleteUser: %v", err)
	}
	if _, err := s.GetToken(ctx, "h1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("token survived DeleteUser: %v", err)
	}
	for _, h := range []string{"h2", "h3"} {
		if _, err := s.GetToken(ctx, h); err != nil {
			t.Errorf("token %s lost by DeleteUser: %v", h, err)
		}
	}
	if err := s.DeleteUser(ctx, app, "user2"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("DeleteUser twice = %v", err)
	}
	if _, err := s.GetUser(ctx, other, "user0"); err != nil {
		t.Errorf("same name in another app: %v", err)
	}
}

func testTokens(t *testing.T, s store.Backend) {
	ctx := context.Background()
	app := CreateApp(t, s, "org#app").Key
	if err := s.CreateUsers(ctx, []store.User{User(app, "alice")}); err != nil {
		t.Fatal(err)
	}
	ut := store.Token{Hash: "u1", App: app, Kind: store.TokenUser, Username: "alice", Created: t0, Expires: t0.Add(time.Hour)}
	ut2 := store.Token{Hash: "u2", App: app, Kind: store.TokenUser, Username: "alice", Created: t0, Expires: t0.Add(-time.Hour)}
	at := store.Token{Hash: "a1", App: app, Kind: store.TokenApp, Created: t0} // never expires
	for _, tk := range []store.Token{ut, ut2, at} {
		if err := s.PutToken(ctx, tk); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range []store.Token{ut, ut2, at} {
		if got, err := s.GetToken(ctx, want.Hash); err != nil || got != want {
			t.Errorf("GetToken(%s) = %+v, %v; want %+v", want.Hash, got, err, want)
		}
	}
	if err := s.PutToken(ctx, ut); !errors.Is(err, store.ErrDuplicate) {
		t.Errorf("PutToken twice = %v", err)
	}
	if err := s.PutToken(ctx, store.Token{Hash: "x", App: app, Kind: store.TokenUser, Username: "nobody"}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("PutToken for unknown user = %v", err)
	}
	if err := s.PutToken(ctx, store.Token{Hash: "y", App: "org#none", Kind: store.TokenApp}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("PutToken for unknown app = %v", err)
	}
	if _, err := s.GetToken(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetToken unknown = %v", err)
	}

	purger, ok := s.(interface {
		DeleteExpiredTokens(ctx context.Context, now time.Time) (int64, error)
	})
	if !ok {
		t.Fatal("the store cannot purge expired tokens (DeleteExpiredTokens), which the account service uses")
	}
	n, err := purger.DeleteExpiredTokens(ctx, t0)
	if err != nil || n != 1 {
		t.Errorf("DeleteExpiredTokens = %d, %v; want 1", n, err)
	}
	if _, err := s.GetToken(ctx, "u2"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("expired token kept: %v", err)
	}

	if err := s.DeleteToken(ctx, "a1"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteToken(ctx, "a1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("DeleteToken twice = %v", err)
	}
	if err := s.DeleteUserTokens(ctx, app, "ALICE"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetToken(ctx, "u1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("DeleteUserTokens left a token: %v", err)
	}
	if err := s.DeleteUserTokens(ctx, app, "alice"); err != nil {
		t.Errorf("DeleteUserTokens with none left = %v", err)
	}
}

func testConcurrentUse(t *testing.T, s store.Backend) {
	ctx := context.Background()
	app := CreateApp(t, s, "org#app").Key
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := range 4 {
		wg.Go(func() {
			for i := range 20 {
				c := store.CallRecord{App: app, ID: fmt.Sprintf("w%d-%d", w, i), Caller: "a", Callee: "b", InvitedAt: t0.Add(time.Duration(i) * time.Millisecond)}
				if err := s.SaveCalls(ctx, []store.CallRecord{c}); err != nil {
					errs <- err
					return
				}
				if _, _, err := s.ListCalls(ctx, app, store.CallFilter{User: "a"}); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	calls, _, err := s.ListCalls(ctx, app, store.CallFilter{Limit: 100})
	if err != nil || len(calls) != 80 {
		t.Errorf("ListCalls = %d calls, %v; want 80", len(calls), err)
	}
}
