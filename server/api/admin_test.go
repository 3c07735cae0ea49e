package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/duet-rtc/duet/protocol"
	"github.com/duet-rtc/duet/server/store"
)

func TestAdminAuth(t *testing.T) {
	e := newEnv(t)
	paths := []struct{ method, path string }{
		{http.MethodPost, "/admin/v1/apps"},
		{http.MethodGet, "/admin/v1/apps"},
		{http.MethodGet, "/admin/v1/apps/o/open/users"},
		{http.MethodPost, "/admin/v1/apps/o/open/users"},
		{http.MethodDelete, "/admin/v1/apps/o/open/users/x"},
		{http.MethodPost, "/admin/v1/apps/o/open/token"},
		{http.MethodPost, "/admin/v1/apps/o/none/token"}, // no app-existence leak
	}
	for _, p := range paths {
		e.fail("no token", p.method, p.path, "", nil, 401, protocol.CodeInvalidToken, "unauthorized")
		e.fail("wrong token", p.method, p.path, adminToken+"x", nil, 401, protocol.CodeInvalidToken, "unauthorized")
		e.fail("an app token", p.method, p.path, e.appToken(e.open, 0), nil, 401, protocol.CodeInvalidToken, "")
	}
	// Without an admin token the admin API is off.
	off := httptest.NewServer(New(e.acct, e.st, "", nil))
	defer off.Close()
	for _, tok := range []string{"", "anything"} {
		req, _ := http.NewRequest(http.MethodGet, off.URL+"/admin/v1/apps", nil)
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := off.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("admin API off, token %q: HTTP %d", tok, resp.StatusCode)
		}
	}
}

func TestAdminEndpoints(t *testing.T) {
	e := newEnv(t)
	var apps Response[App]
	e.ok(http.MethodPost, "/admin/v1/apps", adminToken, NewApp{Org: "acme", Name: "chat", Registration: "authorized"}, &apps)
	a := apps.Entities[0]
	if a.Key != "acme#chat" || a.Org != "acme" || a.Name != "chat" || a.Registration != "authorized" || a.ClientID == "" ||
		a.ClientSecret == "" || a.UUID != AppUUID("acme#chat") || a.Created != start.UnixMilli() {
		t.Errorf("created app %+v", a)
	}
	for _, tc := range []struct {
		name   string
		body   any
		status int
		code   protocol.ErrorCode
	}{
		{"duplicate", NewApp{Org: "ACME", Name: "chat"}, 409, protocol.CodeAppAlreadyExist},
		{"bad name", NewApp{Org: "a c", Name: "chat"}, 400, protocol.CodeInvalidAppKey},
		{"empty", NewApp{}, 400, protocol.CodeInvalidAppKey},
		{"bad registration", NewApp{Org: "a", Name: "b", Registration: "closed"}, 400, protocol.CodeUserIllegalArgument},
		{"unknown field", `{"org":"a","name":"b","x":1}`, 400, protocol.CodeBadMessage},
		{"malformed", `[`, 400, protocol.CodeBadMessage},
	} {
		e.fail(tc.name, http.MethodPost, "/admin/v1/apps", adminToken, tc.body, tc.status, tc.code, "")
	}
	e.ok(http.MethodGet, "/admin/v1/apps", adminToken, nil, &apps)
	if apps.Count != 4 || len(apps.Entities) != 4 || apps.Entities[0].Key != "acme#chat" {
		t.Errorf("apps %+v", apps)
	}

	// Users in an authorized app, with no app token.
	var users Response[User]
	e.ok(http.MethodPost, "/admin/v1/apps/acme/chat/users", adminToken, []NewUser{{Username: "u1", Password: "pw"}, {Username: "u2", Password: "pw"}}, &users)
	if len(users.Entities) != 2 {
		t.Errorf("created %+v", users)
	}
	e.ok(http.MethodPost, "/admin/v1/apps/acme/chat/users", adminToken, NewUser{Username: "u3", Password: "pw"}, nil)
	e.fail("duplicate user", http.MethodPost, "/admin/v1/apps/acme/chat/users", adminToken, NewUser{Username: "U3", Password: "pw"}, 409, protocol.CodeUserAlreadyExist, "")
	e.ok(http.MethodGet, "/admin/v1/apps/acme/chat/users?limit=2", adminToken, nil, &users)
	if fmt.Sprint(usernames(users.Entities)) != "[u1 u2]" || users.Cursor != "u2" {
		t.Errorf("page %+v", users)
	}
	e.ok(http.MethodDelete, "/admin/v1/apps/acme/chat/users/u2", adminToken, nil, nil)
	e.fail("delete unknown user", http.MethodDelete, "/admin/v1/apps/acme/chat/users/u2", adminToken, nil, 404, protocol.CodeUserNotFound, "")
	e.fail("unknown app", http.MethodGet, "/admin/v1/apps/acme/none/users", adminToken, nil, 404, protocol.CodeInvalidAppKey, "")

	// App token, usable on the app's REST API.
	var tr TokenResponse
	e.ok(http.MethodPost, "/admin/v1/apps/acme/chat/token", adminToken, nil, &tr)
	if tr.ExpiresIn != 60*24*3600 || tr.Application != AppUUID("acme#chat") {
		t.Errorf("token %+v", tr)
	}
	e.ok(http.MethodGet, "/acme/chat/users", tr.AccessToken, nil, nil)
	e.ok(http.MethodPost, "/admin/v1/apps/acme/chat/token", adminToken, `{"ttl":120}`, &tr)
	if tr.ExpiresIn != 120 {
		t.Errorf("token ttl %d", tr.ExpiresIn)
	}
	e.fail("token bad ttl", http.MethodPost, "/admin/v1/apps/acme/chat/token", adminToken, `{"ttl":-1}`, 400, protocol.CodeUserIllegalArgument, "")
	e.fail("token bad body", http.MethodPost, "/admin/v1/apps/acme/chat/token", adminToken, `{"ttl":`, 400, protocol.CodeBadMessage, "")
}

func usernames(us []User) []string {
	var out []string
	for _, u := range us {
		out = append(out, u.Username)
	}
	return out
}

func TestAdminClient(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	c := &AdminClient{BaseURL: e.srv.URL + "/", Token: adminToken, HTTP: e.srv.Client()}

	a, err := c.CreateApp(ctx, "acme", "chat", store.RegistrationAuthorized)
	if err != nil || a.Key != "acme#chat" || a.ClientSecret == "" {
		t.Fatalf("CreateApp = %+v, %v", a, err)
	}
	_, err = c.CreateApp(ctx, "acme", "chat", "")
	var ae *Error
	if !errors.As(err, &ae) || ae.Status != http.StatusConflict || ae.Code != protocol.CodeAppAlreadyExist ||
		protocol.CodeOf(err) != protocol.CodeAppAlreadyExist {
		t.Errorf("duplicate CreateApp error %#v", err)
	}
	apps, err := c.ListApps(ctx)
	if err != nil || len(apps) != 4 {
		t.Errorf("ListApps = %d apps, %v", len(apps), err)
	}

	for _, n := range []string{"carol", "alice", "bob"} {
		u, err := c.AddUser(ctx, "acme#chat", n, "pw-"+n, "Nick")
		if err != nil || u.Username != n || u.Nickname != "Nick" {
			t.Fatalf("AddUser(%s) = %+v, %v", n, u, err)
		}
	}
	_, err = c.AddUser(ctx, "acme#chat", "bad name", "pw", "")
	if protocol.CodeOf(err) != protocol.CodeInvalidUsername {
		t.Errorf("AddUser bad name: %v", err)
	}
	var names []string
	cursor := ""
	for {
		page, next, err := c.ListUsers(ctx, "acme#chat", cursor, 2)
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, usernames(page)...)
		if next == "" {
			break
		}
		cursor = next
	}
	if fmt.Sprint(names) != "[alice bob carol]" {
		t.Errorf("ListUsers paged: %v", names)
	}
	if page, _, err := c.ListUsers(ctx, "acme#chat", "", 0); err != nil || len(page) != 3 {
		t.Errorf("ListUsers default limit: %d, %v", len(page), err)
	}
	if err := c.DeleteUser(ctx, "acme#chat", "bob"); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteUser(ctx, "acme#chat", "bob"); protocol.CodeOf(err) != protocol.CodeUserNotFound {
		t.Errorf("DeleteUser twice: %v", err)
	}

	tr, err := c.AppToken(ctx, "acme#chat", time.Hour)
	if err != nil || tr.ExpiresIn != 3600 || tr.AccessToken == "" {
		t.Fatalf("AppToken = %+v, %v", tr, err)
	}
	// The app token registers users in the authorized app.
	e.ok(http.MethodPost, "/acme/chat/users", tr.AccessToken, NewUser{Username: "dave", Password: "pw"}, nil)

	for _, bad := range []string{"nohash", "a#b#c", "#x"} {
		if _, err := c.AppToken(ctx, bad, 0); protocol.CodeOf(err) != protocol.CodeInvalidAppKey {
			t.Errorf("AppToken(%q): %v", bad, err)
		}
	}
	if _, err := c.AppToken(ctx, "acme#none", 0); protocol.CodeOf(err) != protocol.CodeInvalidAppKey {
		t.Errorf("AppToken of unknown app: %v", err)
	}
	wrong := &AdminClient{BaseURL: e.srv.URL, Token: "nope"}
	if _, err := wrong.ListApps(ctx); !errors.As(err, &ae) || ae.Status != http.StatusUnauthorized {
		t.Errorf("wrong admin token: %v", err)
	}
	// A reply that is not an API error still comes back as *Error.
	notAPI := &AdminClient{BaseURL: e.srv.URL + "/nowhere", Token: adminToken}
	if _, err := notAPI.ListApps(ctx); !errors.As(err, &ae) || ae.Status != http.StatusNotFound || ae.Code != protocol.CodeServerUnknown {
		t.Errorf("non-API reply: %#v", err)
	}
}
