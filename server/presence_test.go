package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/duet-rtc/duet/protocol"
	"github.com/duet-rtc/duet/server/servertest"
)

// presenceOf reads frames until a presence push arrives.
func presenceOf(ctx context.Context, t *testing.T, d *rawDevice) protocol.Presence {
	t.Helper()
	env, err := d.readUntil(ctx, protocol.TypePresence)
	if err != nil {
		t.Fatalf("waiting for presence: %v", err)
	}
	var p protocol.Presence
	if err := env.DecodeData(&p); err != nil {
		t.Fatal(err)
	}
	return p
}

// subscribe sends presence.subscribe and returns its reply.
func subscribe(ctx context.Context, t *testing.T, d *rawDevice, req protocol.PresenceSubscribe) protocol.PresenceSubscribed {
	t.Helper()
	d.seq++
	id := "s" + string(rune('a'+d.seq))
	if err := d.send(ctx, protocol.TypePresenceSubscribe, id, req); err != nil {
		t.Fatal(err)
	}
	env, err := d.readUntil(ctx, protocol.TypeReply)
	if err != nil || env.ID != id {
		t.Fatalf("subscribe reply: %+v, %v", env, err)
	}
	var out protocol.PresenceSubscribed
	if err := env.DecodeData(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

func appPath(srv *servertest.Server) string { return "/" + strings.Replace(srv.AppKey, "#", "/", 1) }

// TestPresenceSubscription: a subscriber learns the present state, then each change of the
// users it watches (by name, its contacts, the whole app); under the policy "contacts" a
// user who has not added the subscriber is refused by name (914) and never pushed.
func TestPresenceSubscription(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	srv := servertest.Start(t)
	tok := map[string]string{}
	for _, u := range []string{"alice", "bob", "carol", "dave"} {
		tok[u] = userToken(t, srv, u)
	}
	alice, err := dialDevice(ctx, srv.URL, tok["alice"], "a1")
	if err != nil {
		t.Fatal(err)
	}
	defer alice.ws.CloseNow()
	got := subscribe(ctx, t, alice, protocol.PresenceSubscribe{Users: []string{"Bob", "carol"}})
	if len(got.Presence) != 2 || got.Presence[0] != (protocol.Presence{Username: "bob"}) || len(got.Refused) != 0 {
		t.Fatalf("first subscribe: %+v", got)
	}
	bob, err := dialDevice(ctx, srv.URL, tok["bob"], "b1")
	if err != nil {
		t.Fatal(err)
	}
	if p := presenceOf(ctx, t, alice); p != (protocol.Presence{Username: "bob", Online: true}) {
		t.Fatalf("bob came online: %+v", p)
	}
	// A second device of bob changes nothing; his last one leaving does.
	bob2, err := dialDevice(ctx, srv.URL, tok["bob"], "b2")
	if err != nil {
		t.Fatal(err)
	}
	bob2.ws.CloseNow()
	bob.ws.CloseNow()
	if p := presenceOf(ctx, t, alice); p != (protocol.Presence{Username: "bob"}) {
		t.Fatalf("bob went offline: %+v", p)
	}

	// The policy "contacts": bob must add alice before she sees him.
	if st, b := srv.Do(http.MethodPut, "/admin/v1/apps"+appPath(srv)+"/settings", srv.AdminToken(), []byte(`{"presence":"contacts"}`)); st != http.StatusOK {
		t.Fatalf("set policy: %d %s", st, b)
	}
	if st, b := srv.Do(http.MethodPut, "/admin/v1/apps"+appPath(srv)+"/settings", srv.AdminToken(), []byte(`{"presence":"friends"}`)); st != http.StatusBadRequest {
		t.Fatalf("bad policy: %d %s; want 400", st, b)
	}
	got = subscribe(ctx, t, alice, protocol.PresenceSubscribe{Users: []string{"bob"}})
	if len(got.Refused) != 1 || got.Refused[0] != (protocol.PresenceRefusal{Username: "bob", Code: protocol.CodePresenceForbidden}) || len(got.Presence) != 0 {
		t.Fatalf("bob without alice as contact: %+v; want refused 914", got)
	}
	// carol is watched from before; she has not added alice, so alice hears nothing of her.
	carol, err := dialDevice(ctx, srv.URL, tok["carol"], "c1")
	if err != nil {
		t.Fatal(err)
	}
	defer carol.ws.CloseNow()
	if st, b := srv.Do(http.MethodPost, appPath(srv)+"/users/bob/contacts/users/alice", tok["bob"], nil); st != http.StatusOK {
		t.Fatalf("bob adds alice: %d %s", st, b)
	}
	got = subscribe(ctx, t, alice, protocol.PresenceSubscribe{Users: []string{"bob"}})
	if len(got.Refused) != 0 || len(got.Presence) != 1 {
		t.Fatalf("bob with alice as contact: %+v", got)
	}
	bob, err = dialDevice(ctx, srv.URL, tok["bob"], "b1")
	if err != nil {
		t.Fatal(err)
	}
	defer bob.ws.CloseNow()
	// Changes are pushed in order: carol's came first and must not have been pushed.
	if p := presenceOf(ctx, t, alice); p != (protocol.Presence{Username: "bob", Online: true}) {
		t.Fatalf("first push under the contacts policy: %+v; want bob online (carol's hidden)", p)
	}

	// Contacts: alice watches her list, which follows her additions.
	if st, b := srv.Do(http.MethodPost, appPath(srv)+"/users/dave/contacts/users/alice", tok["dave"], nil); st != http.StatusOK {
		t.Fatalf("dave adds alice: %d %s", st, b)
	}
	if st, b := srv.Do(http.MethodPost, appPath(srv)+"/users/alice/contacts/users/dave", tok["alice"], nil); st != http.StatusOK {
		t.Fatalf("alice adds dave: %d %s", st, b)
	}
	got = subscribe(ctx, t, alice, protocol.PresenceSubscribe{Contacts: true})
	if len(got.Presence) != 1 || got.Presence[0] != (protocol.Presence{Username: "dave"}) {
		t.Fatalf("contacts subscription: %+v", got)
	}
	dave, err := dialDevice(ctx, srv.URL, tok["dave"], "d1")
	if err != nil {
		t.Fatal(err)
	}
	defer dave.ws.CloseNow()
	if p := presenceOf(ctx, t, alice); p != (protocol.Presence{Username: "dave", Online: true}) {
		t.Fatalf("dave came online: %+v", p)
	}
	// Malformed: too many names, a bad name.
	many := make([]string, protocol.MaxPresenceUsersPerRequest+1)
	for i := range many {
		many[i] = "u"
	}
	for _, bad := range []protocol.PresenceSubscribe{{Users: many}, {Users: []string{"no such/name"}}} {
		if err := alice.send(ctx, protocol.TypePresenceSubscribe, "bad", bad); err != nil {
			t.Fatal(err)
		}
		env, err := alice.read(ctx)
		if err != nil || env.Error == nil || env.Error.Code != protocol.CodeBadMessage && env.Error.Code != protocol.CodeInvalidUsername {
			t.Fatalf("malformed subscribe: %+v, %v", env, err)
		}
	}
}

// TestContactsREST: a user's list through REST, the user's own token or the app's.
func TestContactsREST(t *testing.T) {
	srv := servertest.Start(t)
	tok := map[string]string{}
	for _, u := range []string{"alice", "bob", "carol"} {
		tok[u] = userToken(t, srv, u)
	}
	base := appPath(srv) + "/users/alice/contacts/users"
	for _, c := range []string{"Carol", "bob", "bob"} {
		if st, b := srv.Do(http.MethodPost, base+"/"+c, tok["alice"], nil); st != http.StatusOK {
			t.Fatalf("add %s: %d %s", c, st, b)
		}
	}
	st, b := srv.Do(http.MethodGet, base+"?limit=1", tok["alice"], nil)
	var page struct {
		Data   []string `json:"data"`
		Cursor string   `json:"cursor"`
	}
	if err := json.Unmarshal(b, &page); st != http.StatusOK || err != nil || len(page.Data) != 1 || page.Data[0] != "bob" || page.Cursor != "bob" {
		t.Fatalf("first page: %d %s", st, b)
	}
	st, b = srv.Do(http.MethodGet, base+"?limit=1&cursor=bob", tok["alice"], nil)
	page.Cursor = ""
	if err := json.Unmarshal(b, &page); st != http.StatusOK || err != nil || len(page.Data) != 1 || page.Data[0] != "carol" || page.Cursor != "" {
		t.Fatalf("last page: %d %s", st, b)
	}
	cases := []struct {
		method, path, token string
		status              int
		code                protocol.ErrorCode
	}{
		{http.MethodPost, base + "/nobody", tok["alice"], http.StatusNotFound, protocol.CodeUserNotFound},
		{http.MethodPost, base + "/alice", tok["alice"], http.StatusBadRequest, protocol.CodeUserIllegalArgument},
		{http.MethodPost, base + "/no%20body", tok["alice"], http.StatusBadRequest, protocol.CodeInvalidUsername},
		{http.MethodGet, base, tok["bob"], http.StatusForbidden, protocol.CodeServerForbidden},
		{http.MethodPost, base + "/bob", "", http.StatusUnauthorized, protocol.CodeInvalidToken},
		{http.MethodDelete, base + "/bob", tok["alice"], http.StatusOK, 0},
		{http.MethodDelete, base + "/bob", tok["alice"], http.StatusNotFound, protocol.CodeNotFound},
	}
	for _, c := range cases {
		st, b := srv.Do(c.method, c.path, c.token, nil)
		var e struct {
			Code protocol.ErrorCode `json:"code"`
		}
		_ = json.Unmarshal(b, &e)
		if st != c.status || e.Code != c.code {
			t.Errorf("%s %s: %d %s; want %d code %d", c.method, c.path, st, b, c.status, c.code)
		}
	}
	if st, b := srv.Do(http.MethodGet, "/admin/v1/apps"+appPath(srv)+"/settings", srv.AdminToken(), nil); st != http.StatusOK || !strings.Contains(string(b), `"presence":"app"`) {
		t.Errorf("default policy: %d %s", st, b)
	}
}
