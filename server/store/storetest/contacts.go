package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/duet-rtc/duet/server/store"
)

// testContacts: a user's list is a set in username order, paged by cursor; names compare
// case-insensitively; missing users are ErrNotFound; deleting either user drops the row.
func testContacts(t *testing.T, s store.Backend) {
	ctx := context.Background()
	CreateApp(t, s, "org#app")
	CreateApp(t, s, "org#other")
	var users []store.User
	for _, n := range []string{"alice", "bob", "carol", "dave"} {
		users = append(users, User("org#app", n))
	}
	if err := s.CreateUsers(ctx, append(users, User("org#other", "eve"))); err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"dave", "bob", "carol", "Bob"} {
		if err := s.AddContact(ctx, "org#app", "alice", c, t0); err != nil {
			t.Fatalf("AddContact(%s): %v", c, err)
		}
	}
	got, err := s.ListContacts(ctx, "org#app", "ALICE", "", 10)
	if err != nil || !slices.Equal(got, []string{"bob", "carol", "dave"}) {
		t.Fatalf("ListContacts = %v, %v; want [bob carol dave]", got, err)
	}
	if got, _ := s.ListContacts(ctx, "org#app", "alice", "bob", 1); !slices.Equal(got, []string{"carol"}) {
		t.Errorf("ListContacts after bob, 1 = %v; want [carol]", got)
	}
	if n, err := s.CountContacts(ctx, "org#app", "alice"); err != nil || n != 3 {
		t.Errorf("CountContacts = %d, %v; want 3", n, err)
	}
	if ok, err := s.HasContact(ctx, "org#app", "alice", "Bob"); err != nil || !ok {
		t.Errorf("HasContact(alice, Bob) = %v, %v; want true", ok, err)
	}
	if ok, _ := s.HasContact(ctx, "org#app", "bob", "alice"); ok {
		t.Error("a contact list is one-way: bob does not have alice")
	}
	for _, c := range []struct{ app, owner, contact string }{
		{"org#app", "alice", "nobody"}, {"org#app", "nobody", "alice"}, {"org#app", "alice", "eve"}, {"org#none", "alice", "bob"},
	} {
		if err := s.AddContact(ctx, c.app, c.owner, c.contact, t0); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("AddContact(%v) = %v; want ErrNotFound", c, err)
		}
	}
	if err := s.RemoveContact(ctx, "org#app", "alice", "bob"); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveContact(ctx, "org#app", "alice", "bob"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("RemoveContact twice = %v; want ErrNotFound", err)
	}
	if err := s.DeleteUser(ctx, "org#app", "carol"); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.ListContacts(ctx, "org#app", "alice", "", 10); !slices.Equal(got, []string{"dave"}) {
		t.Errorf("after deleting carol and removing bob: %v; want [dave]", got)
	}
	if err := s.AddContact(ctx, "org#app", "dave", "alice", t0); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteUser(ctx, "org#app", "dave"); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.CountContacts(ctx, "org#app", "alice"); n != 0 {
		t.Errorf("deleting the owner or the contact drops the row: %d left", n)
	}
}

// testSearchUsers: a prefix selects a range of usernames, "_" and "." literally, paged by
// cursor.
func testSearchUsers(t *testing.T, s store.Backend) {
	ctx := context.Background()
	CreateApp(t, s, "org#app")
	var users []store.User
	for _, n := range []string{"ann", "anna", "anne_x", "annex", "bob", "an_b", "an.c", "zed"} {
		users = append(users, User("org#app", n))
	}
	for i := range 30 {
		users = append(users, User("org#app", fmt.Sprintf("user%03d", i)))
	}
	if err := s.CreateUsers(ctx, users); err != nil {
		t.Fatal(err)
	}
	names := func(us []store.User) []string {
		var out []string
		for _, u := range us {
			out = append(out, u.Username)
		}
		return out
	}
	cases := []struct {
		prefix, cursor string
		limit          int
		want           []string
	}{
		{"ann", "", 10, []string{"ann", "anna", "anne_x", "annex"}},
		{"anne_", "", 10, []string{"anne_x"}},
		{"an_", "", 10, []string{"an_b"}},
		{"an.", "", 10, []string{"an.c"}},
		{"ann", "anna", 2, []string{"anne_x", "annex"}},
		{"ann", "a", 1, []string{"ann"}},
		{"user02", "", 100, []string{"user020", "user021", "user022", "user023", "user024", "user025", "user026", "user027", "user028", "user029"}},
		{"", "user029", 10, []string{"zed"}},
		{"zz", "", 10, nil},
	}
	for _, c := range cases {
		got, err := s.SearchUsers(ctx, "org#app", c.prefix, c.cursor, c.limit)
		if err != nil || !slices.Equal(names(got), c.want) {
			t.Errorf("SearchUsers(%q, %q, %d) = %v, %v; want %v", c.prefix, c.cursor, c.limit, names(got), err, c.want)
		}
	}
}

// testPresencePolicy: "app" until set, set and replaced, ErrNotFound for a missing app.
func testPresencePolicy(t *testing.T, s store.Backend) {
	ctx := context.Background()
	CreateApp(t, s, "org#app")
	if p, err := s.PresencePolicy(ctx, "org#app"); err != nil || p != store.PresenceApp {
		t.Fatalf("PresencePolicy = %q, %v; want app", p, err)
	}
	for _, p := range []string{store.PresenceContacts, store.PresenceApp, store.PresenceContacts} {
		if err := s.SetPresencePolicy(ctx, "ORG#app", p); err != nil {
			t.Fatal(err)
		}
		if got, err := s.PresencePolicy(ctx, "org#app"); err != nil || got != p {
			t.Fatalf("PresencePolicy = %q, %v; want %q", got, err, p)
		}
	}
	if err := s.SetPresencePolicy(ctx, "org#none", store.PresenceApp); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("SetPresencePolicy(missing app) = %v; want ErrNotFound", err)
	}
}
