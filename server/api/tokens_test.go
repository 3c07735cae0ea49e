package api

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/duet-rtc/duet/protocol"
)

func TestToken(t *testing.T) {
	e := newEnv(t)
	e.mkUsers(e.open, "alice")
	var tr TokenResponse
	e.ok(http.MethodPost, "/o/open/token", "", TokenRequest{GrantType: "password", Username: "ALICE", Password: "pw-alice"}, &tr)
	if !strings.HasPrefix(tr.AccessToken, "duet_") || tr.ExpiresIn != 60*24*3600 || tr.User == nil || tr.User.Username != "alice" || tr.Application != "" {
		t.Errorf("password grant %+v", tr)
	}
	e.ok(http.MethodGet, "/o/open/users/alice", tr.AccessToken, nil, nil)

	tr = TokenResponse{}
	e.ok(http.MethodPost, "/o/open/token", "", TokenRequest{GrantType: "client_credentials", ClientID: e.open.ClientID, ClientSecret: e.open.ClientSecret, TTL: 3600}, &tr)
	if tr.ExpiresIn != 3600 || tr.User != nil || tr.Application != AppUUID("o#open") {
		t.Errorf("client_credentials grant %+v", tr)
	}
	e.ok(http.MethodGet, "/o/open/users", tr.AccessToken, nil, nil)

	var wrong, unknown Error
	for _, tc := range []struct {
		name    string
		path    string
		body    any
		status  int
		code    protocol.ErrorCode
		errName string
		save    *Error
	}{
		{"wrong password", "/o/open/token", TokenRequest{GrantType: "password", Username: "alice", Password: "x"}, 401, protocol.CodeUserAuthFailed, "invalid_grant", &wrong},
		{"unknown user", "/o/open/token", TokenRequest{GrantType: "password", Username: "bob", Password: "x"}, 401, protocol.CodeUserAuthFailed, "invalid_grant", &unknown},
		{"user of another app", "/o/other/token", TokenRequest{GrantType: "password", Username: "alice", Password: "pw-alice"}, 401, protocol.CodeUserAuthFailed, "", nil},
		{"wrong secret", "/o/open/token", TokenRequest{GrantType: "client_credentials", ClientID: e.open.ClientID, ClientSecret: "x"}, 401, protocol.CodeUserAuthFailed, "invalid_grant", nil},
		{"other app's credentials", "/o/open/token", TokenRequest{GrantType: "client_credentials", ClientID: e.other.ClientID, ClientSecret: e.other.ClientSecret}, 401, protocol.CodeUserAuthFailed, "", nil},
		{"unknown grant", "/o/open/token", TokenRequest{GrantType: "inherit", Username: "alice"}, 400, protocol.CodeUserIllegalArgument, "unsupported_grant_type", nil},
		{"no grant", "/o/open/token", TokenRequest{Username: "alice", Password: "pw-alice"}, 400, protocol.CodeUserIllegalArgument, "unsupported_grant_type", nil},
		{"negative ttl", "/o/open/token", TokenRequest{GrantType: "password", Username: "alice", Password: "pw-alice", TTL: -1}, 400, protocol.CodeUserIllegalArgument, "", nil},
		{"huge ttl", "/o/open/token", `{"grant_type":"password","username":"alice","password":"pw-alice","ttl":9223372036854775807}`, 400, protocol.CodeUserIllegalArgument, "", nil},
		{"ttl not a number", "/o/open/token", `{"grant_type":"password","username":"alice","password":"pw-alice","ttl":"60"}`, 400, protocol.CodeBadMessage, "json_parse", nil},
		{"unknown field", "/o/open/token", `{"grant_type":"password","username":"alice","password":"pw-alice","autoCreateUser":true}`, 400, protocol.CodeBadMessage, "json_parse", nil},
		{"malformed", "/o/open/token", `{"grant_type":`, 400, protocol.CodeBadMessage, "json_parse", nil},
		{"unknown app", "/o/none/token", TokenRequest{GrantType: "password", Username: "alice", Password: "pw-alice"}, 404, protocol.CodeInvalidAppKey, "", nil},
	} {
		eb := e.fail(tc.name, http.MethodPost, tc.path, "", tc.body, tc.status, tc.code, tc.errName)
		if tc.save != nil {
			*tc.save = eb
		}
	}
	if wrong.Description != unknown.Description {
		t.Errorf("wrong password %q and unknown user %q are told apart", wrong.Description, unknown.Description)
	}
}

func TestTokenExpiry(t *testing.T) {
	e := newEnv(t)
	e.mkUsers(e.open, "alice")
	var tr TokenResponse
	e.ok(http.MethodPost, "/o/open/token", "", TokenRequest{GrantType: "password", Username: "alice", Password: "pw-alice", TTL: 60}, &tr)
	e.ok(http.MethodGet, "/o/open/users/alice", tr.AccessToken, nil, nil)
	e.clk.Advance(60 * time.Second)
	eb := e.fail("expired", http.MethodGet, "/o/open/users/alice", tr.AccessToken, nil, 401, protocol.CodeInvalidToken, "auth_bad_access_token")
	if !strings.Contains(eb.Description, "expired") {
		t.Errorf("description %q", eb.Description)
	}
}

func TestLogout(t *testing.T) {
	e := newEnv(t)
	e.mkUsers(e.open, "alice")
	for _, how := range []struct{ method, path string }{{http.MethodDelete, "/o/open/token"}, {http.MethodPost, "/o/open/logout"}} {
		tok := e.userToken(e.open, "alice")
		keep := e.userToken(e.open, "alice")
		e.ok(http.MethodGet, "/o/open/users/alice", tok, nil, nil)
		e.fail(how.path+" in another app", how.method, "/o/other"+how.path[len("/o/open"):], tok, nil, 401, protocol.CodeInvalidToken, "")
		var resp Response[User]
		e.ok(how.method, how.path, tok, nil, &resp)
		if resp.Action != "delete" || resp.Path != "/token" {
			t.Errorf("reply %+v", resp)
		}
		e.fail("revoked token", http.MethodGet, "/o/open/users/alice", tok, nil, 401, protocol.CodeInvalidToken, "auth_bad_access_token")
		e.fail("logout twice", how.method, how.path, tok, nil, 401, protocol.CodeInvalidToken, "")
		e.ok(http.MethodGet, "/o/open/users/alice", keep, nil, nil)
	}
	e.fail("no token", http.MethodDelete, "/o/open/token", "", nil, 401, protocol.CodeInvalidToken, "unauthorized")
	// App tokens can be revoked too.
	app := e.appToken(e.open, 0)
	e.ok(http.MethodDelete, "/o/open/token", app, nil, nil)
	e.fail("revoked app token", http.MethodGet, "/o/open/users", app, nil, 401, protocol.CodeInvalidToken, "")
}
