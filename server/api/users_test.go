package api

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/duet-rtc/duet/protocol"
)

func TestRegister(t *testing.T) {
	e := newEnv(t)
	var resp Response[User]
	e.ok(http.MethodPost, "/o/open/users", "", `{"username":"Alice","password":"pw","nickname":"Al","extra":1}`, &resp)
	if resp.Action != "post" || resp.Path != "/users" || resp.Application != AppUUID("o#open") ||
		resp.URI != e.srv.URL+"/o/open/users" || resp.Organization != "o" || resp.ApplicationName != "open" ||
		resp.Timestamp == 0 || resp.Count != 1 || len(resp.Entities) != 1 {
		t.Fatalf("reply %+v", resp)
	}
	u := resp.Entities[0]
	if u.Username != "alice" || u.Type != "user" || !u.Activated || u.Nickname != "Al" || len(u.UUID) != 36 ||
		u.Created != start.UnixMilli() || u.Modified != u.Created {
		t.Errorf("entity %+v", u)
	}

	e.ok(http.MethodPost, "/o/open/users", "", []NewUser{{Username: "b1", Password: "pw"}, {Username: "b2", Password: "pw"}}, &resp)
	if len(resp.Entities) != 2 || resp.Entities[1].Username != "b2" {
		t.Errorf("batch reply %+v", resp)
	}
	// App keys are case-insensitive.
	e.ok(http.MethodPost, "/O/Open/users", "", NewUser{Username: "c", Password: "pw"}, nil)

	many := make([]NewUser, 61)
	for i := range many {
		many[i] = NewUser{Username: fmt.Sprintf("m%d", i), Password: "pw"}
	}
	big := `{"username":"x","password":"pw","nickname":"` + strings.Repeat("n", MaxBodyBytes) + `"}`
	for _, tc := range []struct {
		name, path string
		body       any
		status     int
		code       protocol.ErrorCode
		errName    string
	}{
		{"unknown app", "/o/none/users", NewUser{Username: "x", Password: "pw"}, 404, protocol.CodeInvalidAppKey, "service_resource_not_found"},
		{"bad org in path", "/o.x/open/users", NewUser{Username: "x", Password: "pw"}, 404, protocol.CodeInvalidAppKey, ""},
		{"duplicate", "/o/open/users", NewUser{Username: "ALICE", Password: "pw"}, 409, protocol.CodeUserAlreadyExist, "duplicate_unique_property_exists"},
		{"duplicate in batch", "/o/open/users", []NewUser{{Username: "d", Password: "pw"}, {Username: "D", Password: "pw"}}, 409, protocol.CodeUserAlreadyExist, ""},
		{"bad username", "/o/open/users", NewUser{Username: "a b", Password: "pw"}, 400, protocol.CodeInvalidUsername, "illegal_argument"},
		{"too-long username", "/o/open/users", NewUser{Username: strings.Repeat("a", 65), Password: "pw"}, 400, protocol.CodeUsernameTooLong, "illegal_argument"},
		{"empty password", "/o/open/users", NewUser{Username: "x"}, 400, protocol.CodeInvalidPassword, ""},
		{"long password", "/o/open/users", NewUser{Username: "x", Password: strings.Repeat("p", 65)}, 400, protocol.CodeInvalidPassword, ""},
		{"batch over 60", "/o/open/users", many, 400, protocol.CodeUserIllegalArgument, ""},
		{"empty array", "/o/open/users", `[]`, 400, protocol.CodeUserIllegalArgument, ""},
		{"malformed JSON", "/o/open/users", `{"username":`, 400, protocol.CodeBadMessage, "json_parse"},
		{"trailing data", "/o/open/users", `{"username":"x","password":"pw"} {}`, 400, protocol.CodeBadMessage, "json_parse"},
		{"wrong type", "/o/open/users", `{"username":5,"password":"pw"}`, 400, protocol.CodeBadMessage, "json_parse"},
		{"empty body", "/o/open/users", ``, 400, protocol.CodeBadMessage, "json_parse"},
		{"not an object", "/o/open/users", `"alice"`, 400, protocol.CodeBadMessage, "json_parse"},
		{"oversized body", "/o/open/users", big, 413, protocol.CodeBadMessage, "request_entity_too_large"},
	} {
		e.fail(tc.name, http.MethodPost, tc.path, "", tc.body, tc.status, tc.code, tc.errName)
	}
	// A failed batch stored nothing.
	e.fail("after failed batch", http.MethodGet, "/o/open/users/d", e.appToken(e.open, 0), nil, 404, protocol.CodeUserNotFound, "")
}

func TestRegisterAuthorized(t *testing.T) {
	e := newEnv(t)
	e.mkUsers(e.closed, "member")
	body := NewUser{Username: "new", Password: "pw"}
	short := e.appToken(e.closed, time.Minute)
	for _, tc := range []struct {
		name, token string
		code        protocol.ErrorCode
	}{
		{"no token", "", protocol.CodeRegistrationClosed},
		{"garbage token", "duet_garbage", protocol.CodeInvalidToken},
		{"user token", e.userToken(e.closed, "member"), protocol.CodeInvalidToken},
		{"app token of another app", e.appToken(e.other, 0), protocol.CodeInvalidToken},
	} {
		e.fail(tc.name, http.MethodPost, "/o/closed/users", tc.token, body, 401, tc.code, "")
	}
	e.clk.Advance(2 * time.Minute)
	e.fail("expired app token", http.MethodPost, "/o/closed/users", short, body, 401, protocol.CodeInvalidToken, "auth_bad_access_token")
	var resp Response[User]
	e.ok(http.MethodPost, "/o/closed/users", e.appToken(e.closed, 0), body, &resp)
	if len(resp.Entities) != 1 || resp.Entities[0].Username != "new" {
		t.Errorf("reply %+v", resp)
	}
}

// TestSetRegistration: the operator opens an authorized app's registration and closes it
// again (PUT /admin/v1/apps/{org}/{app}/registration); users registered meanwhile stay.
func TestSetRegistration(t *testing.T) {
	e := newEnv(t)
	path := "/admin/v1/apps/o/closed/registration"
	var apps Response[App]
	e.ok(http.MethodPut, path, adminToken, registrationRequest{Registration: "open"}, &apps)
	if len(apps.Entities) != 1 || apps.Entities[0].Registration != "open" || apps.Entities[0].ClientSecret != "" {
		t.Fatalf("reply %+v", apps)
	}
	e.ok(http.MethodPost, "/o/closed/users", "", NewUser{Username: "walkin", Password: "pw"}, nil)
	e.ok(http.MethodPut, path, adminToken, registrationRequest{Registration: "authorized"}, nil)
	e.fail("closed again", http.MethodPost, "/o/closed/users", "", NewUser{Username: "late", Password: "pw"}, 401, protocol.CodeRegistrationClosed, "")
	e.ok(http.MethodGet, "/admin/v1/apps/o/closed/users", adminToken, nil, nil)
	for _, tc := range []struct {
		name, path, token string
		body              any
		status            int
		code              protocol.ErrorCode
	}{
		{"bad mode", path, adminToken, registrationRequest{Registration: "closed"}, 400, protocol.CodeUserIllegalArgument},
		{"no body", path, adminToken, `{`, 400, protocol.CodeBadMessage},
		{"unknown app", "/admin/v1/apps/o/none/registration", adminToken, registrationRequest{Registration: "open"}, 404, protocol.CodeInvalidAppKey},
	} {
		e.fail(tc.name, http.MethodPut, tc.path, tc.token, tc.body, tc.status, tc.code, "")
	}
	if status, _ := e.do(http.MethodPut, path, "", registrationRequest{Registration: "open"}); status != http.StatusUnauthorized {
		t.Errorf("without the admin token: %d; want 401", status)
	}
}

func TestGetUser(t *testing.T) {
	e := newEnv(t)
	e.mkUsers(e.open, "alice", "bob")
	e.mkUsers(e.other, "alice")
	app := e.appToken(e.open, 0)
	alice := e.userToken(e.open, "alice")
	var resp Response[User]
	for _, tok := range []string{app, alice} {
		e.ok(http.MethodGet, "/o/open/users/ALICE", tok, nil, &resp)
		if resp.Action != "get" || len(resp.Entities) != 1 || resp.Entities[0].Username != "alice" || resp.Entities[0].Nickname != "Nick alice" {
			t.Errorf("reply %+v", resp)
		}
	}
	short, _ := e.acct.PasswordToken(e.ctx, "o#open", "alice", "pw-alice", time.Minute)
	for _, tc := range []struct {
		name, path, token string
		status            int
		code              protocol.ErrorCode
		errName           string
	}{
		{"no token", "/o/open/users/alice", "", 401, protocol.CodeInvalidToken, "unauthorized"},
		{"unknown token", "/o/open/users/alice", "duet_nope", 401, protocol.CodeInvalidToken, "auth_bad_access_token"},
		{"another user's token", "/o/open/users/bob", alice, 403, protocol.CodeServerForbidden, "forbidden_op"},
		{"token of another app", "/o/other/users/alice", alice, 401, protocol.CodeInvalidToken, ""},
		{"app token of another app", "/o/other/users/alice", app, 401, protocol.CodeInvalidToken, ""},
		{"unknown user", "/o/open/users/nobody", app, 404, protocol.CodeUserNotFound, "service_resource_not_found"},
		{"bad name", "/o/open/users/a%20b", app, 400, protocol.CodeInvalidUsername, ""},
		{"unknown app", "/o/none/users/alice", app, 404, protocol.CodeInvalidAppKey, ""},
	} {
		e.fail(tc.name, http.MethodGet, tc.path, tc.token, nil, tc.status, tc.code, tc.errName)
	}
	e.clk.Advance(time.Minute)
	eb := e.fail("expired token", http.MethodGet, "/o/open/users/alice", short.Token, nil, 401, protocol.CodeInvalidToken, "")
	if !strings.Contains(eb.Description, "expired") {
		t.Errorf("expired token description %q", eb.Description)
	}
}

func TestListUsers(t *testing.T) {
	e := newEnv(t)
	e.mkUsers(e.open, "e", "d", "c", "b", "a")
	app := e.appToken(e.open, 0)
	var names []string
	path := "/o/open/users?limit=2"
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("cursor does not advance")
		}
		var resp Response[User]
		e.ok(http.MethodGet, path, app, nil, &resp)
		for _, u := range resp.Entities {
			names = append(names, u.Username)
		}
		if resp.Cursor == "" {
			break
		}
		path = "/o/open/users?limit=2&cursor=" + resp.Cursor
	}
	if fmt.Sprint(names) != "[a b c d e]" {
		t.Errorf("users %v", names)
	}
	e.fail("user token", http.MethodGet, "/o/open/users", e.userToken(e.open, "a"), nil, 401, protocol.CodeInvalidToken, "")
	e.fail("no token", http.MethodGet, "/o/open/users", "", nil, 401, protocol.CodeInvalidToken, "")
	for _, l := range []string{"0", "101", "x", "-1"} {
		e.fail("limit "+l, http.MethodGet, "/o/open/users?limit="+l, app, nil, 400, protocol.CodeUserIllegalArgument, "illegal_argument")
	}
	e.fail("bad cursor", http.MethodGet, "/o/open/users?cursor=%00", app, nil, 400, protocol.CodeBadMessage, "")
}

func TestDeleteUser(t *testing.T) {
	e := newEnv(t)
	e.mkUsers(e.open, "alice", "bob")
	app := e.appToken(e.open, 0)
	alice := e.userToken(e.open, "alice")
	e.ok(http.MethodGet, "/o/open/users/alice", alice, nil, nil) // caches the token
	e.fail("user token", http.MethodDelete, "/o/open/users/bob", alice, nil, 401, protocol.CodeInvalidToken, "")
	e.fail("other app's token", http.MethodDelete, "/o/open/users/bob", e.appToken(e.other, 0), nil, 401, protocol.CodeInvalidToken, "")
	var resp Response[User]
	e.ok(http.MethodDelete, "/o/open/users/Alice", app, nil, &resp)
	if resp.Action != "delete" || len(resp.Entities) != 1 || resp.Entities[0].Username != "alice" {
		t.Errorf("reply %+v", resp)
	}
	e.fail("deleted user", http.MethodGet, "/o/open/users/alice", app, nil, 404, protocol.CodeUserNotFound, "")
	e.fail("deleted user's token", http.MethodGet, "/o/open/users/alice", alice, nil, 401, protocol.CodeInvalidToken, "")
	e.fail("delete twice", http.MethodDelete, "/o/open/users/alice", app, nil, 404, protocol.CodeUserNotFound, "")
}

func TestChangePassword(t *testing.T) {
	e := newEnv(t)
	e.mkUsers(e.open, "alice", "bob")
	alice := e.userToken(e.open, "alice")
	bob := e.userToken(e.open, "bob")
	e.fail("another user's token", http.MethodPut, "/o/open/users/alice/password", bob, map[string]string{"newpassword": "x"}, 403, protocol.CodeServerForbidden, "")
	e.fail("no token", http.MethodPut, "/o/open/users/alice/password", "", map[string]string{"newpassword": "x"}, 401, protocol.CodeInvalidToken, "")
	e.fail("empty password", http.MethodPut, "/o/open/users/alice/password", alice, map[string]string{"newpassword": ""}, 400, protocol.CodeInvalidPassword, "")
	e.fail("unknown field", http.MethodPut, "/o/open/users/alice/password", alice, map[string]string{"newpassword": "x", "old": "y"}, 400, protocol.CodeBadMessage, "json_parse")
	e.fail("malformed", http.MethodPut, "/o/open/users/alice/password", alice, "{", 400, protocol.CodeBadMessage, "")
	e.fail("unknown user", http.MethodPut, "/o/open/users/nobody/password", e.appToken(e.open, 0), map[string]string{"newpassword": "x"}, 404, protocol.CodeUserNotFound, "")

	var resp Response[User]
	e.ok(http.MethodPut, "/o/open/users/alice/password", alice, map[string]string{"newpassword": "new-pw"}, &resp)
	if resp.Action != "set user password" {
		t.Errorf("reply %+v", resp)
	}
	// Every token of alice is revoked, the one used included; bob's is not.
	e.fail("token after password change", http.MethodGet, "/o/open/users/alice", alice, nil, 401, protocol.CodeInvalidToken, "")
	e.ok(http.MethodGet, "/o/open/users/bob", bob, nil, nil)
	e.fail("old password", http.MethodPost, "/o/open/token", "", TokenRequest{GrantType: "password", Username: "alice", Password: "pw-alice"}, 401, protocol.CodeUserAuthFailed, "")
	e.ok(http.MethodPost, "/o/open/token", "", TokenRequest{GrantType: "password", Username: "alice", Password: "new-pw"}, nil)
	// An app token may change anyone's password.
	e.ok(http.MethodPut, "/o/open/users/bob/password", e.appToken(e.open, 0), map[string]string{"newpassword": "b2"}, nil)
}
