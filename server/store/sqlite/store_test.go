package sqlite

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/duet-rtc/duet/server/store"
)

// t0 is a fixed time with whole milliseconds, as the store keeps them.
var t0 = time.UnixMilli(1_760_000_000_000).UTC()

func openTest(t testing.TB) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "duet.db")
	s, err := Open(path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}

func mustCreateApp(t testing.TB, s *Store, key string) store.App {
	t.Helper()
	a := store.App{Key: key, Org: "org", Name: key, ClientID: "id-" + key, ClientSecret: "secret-" + key,
		Registration: store.RegistrationOpen, Created: t0}
	if err := s.CreateApp(context.Background(), a); err != nil {
		t.Fatalf("CreateApp(%q): %v", key, err)
	}
	return a
}

func user(app, name string) store.User {
	return store.User{UUID: "uuid-" + app + "-" + name, App: app, Username: name, Nickname: "Nick " + name,
		PasswordHash: "$argon2id$x", Activated: true, Created: t0, Modified: t0}
}

func TestOpenRejectsBadPath(t *testing.T) {
	for _, p := range []string{"", "a?b"} {
		if _, err := Open(p); err == nil {
			t.Errorf("Open(%q) succeeded", p)
		}
	}
}

func TestReopenKeepsData(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "duet.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	app := mustCreateApp(t, s, "org#app")
	u := user(app.Key, "alice")
	if err := s.CreateUsers(ctx, []store.User{u}); err != nil {
		t.Fatal(err)
	}
	c := store.CallRecord{ID: "c1", App: app.Key, Caller: "alice", Callee: "bob", InvitedAt: t0, EndedAt: t0.Add(time.Second)}
	if err := s.SaveCalls(ctx, []store.CallRecord{c}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	s, err = Open(path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close()
	if got, err := s.GetApp(ctx, app.Key); err != nil || got != app {
		t.Errorf("GetApp after reopen = %+v, %v; want %+v", got, err, app)
	}
	if got, err := s.GetUser(ctx, app.Key, "alice"); err != nil || got != u {
		t.Errorf("GetUser after reopen = %+v, %v; want %+v", got, err, u)
	}
	if got, err := s.GetCall(ctx, app.Key, "c1"); err != nil || got != c {
		t.Errorf("GetCall after reopen = %+v, %v; want %+v", got, err, c)
	}
}

func TestPragmas(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t)
	var mode string
	var fk, sync int
	if err := s.w.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q, %v", mode, err)
	}
	if err := s.w.QueryRowContext(ctx, `PRAGMA foreign_keys`).Scan(&fk); err != nil || fk != 1 {
		t.Errorf("foreign_keys = %d, %v", fk, err)
	}
	if err := s.w.QueryRowContext(ctx, `PRAGMA synchronous`).Scan(&sync); err != nil || sync != 1 {
		t.Errorf("synchronous = %d, %v; want 1 (NORMAL)", sync, err)
	}
	// The read pool cannot write.
	if _, err := s.r.ExecContext(ctx, `DELETE FROM apps`); err == nil {
		t.Error("read pool accepted a write")
	}
}

func TestApps(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t)
	a := mustCreateApp(t, s, "org#b")
	b := mustCreateApp(t, s, "org#a")

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
}

func TestCreateUsersAllOrNothing(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t)
	app := mustCreateApp(t, s, "org#app").Key
	if err := s.CreateUsers(ctx, []store.User{user(app, "alice")}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateUsers(ctx, nil); err != nil {
		t.Errorf("CreateUsers(nil) = %v", err)
	}

	clash := user(app, "ALICE")
	clash.UUID = "other"
	cases := map[string][]store.User{
		"existing user, other case": {user(app, "bob"), clash},
		"duplicate in batch":        {user(app, "carol"), func() store.User { u := user(app, "carol"); u.UUID = "x"; return u }()},
		"duplicate uuid":            {user(app, "dave"), func() store.User { u := user(app, "erin"); u.UUID = user(app, "dave").UUID; return u }()},
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
	if err := s.CreateUsers(ctx, []store.User{user("org#none", "zed")}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("CreateUsers in unknown app = %v; want ErrNotFound", err)
	}
}

func TestUsers(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t)
	app := mustCreateApp(t, s, "org#app").Key
	other := mustCreateApp(t, s, "org#other").Key
	var batch []store.User
	for i := range 5 {
		batch = append(batch, user(app, fmt.Sprintf("user%d", i)))
	}
	batch = append(batch, user(other, "user0"))
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

func TestTokens(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t)
	app := mustCreateApp(t, s, "org#app").Key
	if err := s.CreateUsers(ctx, []store.User{user(app, "alice")}); err != nil {
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

	n, err := s.DeleteExpiredTokens(ctx, t0)
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

func TestConcurrentUse(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t)
	app := mustCreateApp(t, s, "org#app").Key
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
