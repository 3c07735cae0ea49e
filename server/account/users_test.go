package account

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/duet-rtc/duet/protocol"
	"github.com/duet-rtc/duet/server/store"
)

func TestRegisterOpen(t *testing.T) {
	e := newEnv(t)
	e.app(t, "o", "a", "")
	users, err := e.svc.Register(e.ctx, "o#a", []NewUser{
		{Username: "Alice", Password: "pw", Nickname: "Alice A."},
		{Username: "bob.b-c_d", Password: strings.Repeat("é", 64)},
	}, "ignored-in-open-mode")
	if err != nil {
		t.Fatal(err)
	}
	if len(users) != 2 || users[0].Username != "alice" || users[0].Nickname != "Alice A." || users[0].App != "o#a" ||
		!users[0].Activated || !users[0].Created.Equal(start) || len(users[0].UUID) != 36 || users[0].UUID == users[1].UUID {
		t.Errorf("users = %+v", users)
	}
	got, err := e.svc.GetUser(e.ctx, "o#a", "ALICE")
	if err != nil || got != users[0] {
		t.Errorf("GetUser = %+v, %v; want %+v", got, err, users[0])
	}
	if !strings.HasPrefix(got.PasswordHash, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Errorf("hash %q", got.PasswordHash)
	}
	if _, err := e.svc.PasswordToken(e.ctx, "o#a", "bob.b-c_d", strings.Repeat("é", 64), 0); err != nil {
		t.Errorf("login with a 64-character password: %v", err)
	}
}

func TestRegisterRules(t *testing.T) {
	e := newEnv(t)
	e.app(t, "o", "a", "")
	e.users(t, "o#a", "taken")
	many := make([]NewUser, MaxBatch+1)
	for i := range many {
		many[i] = NewUser{Username: fmt.Sprintf("u%d", i), Password: "pw"}
	}
	u := func(name, pw string) []NewUser { return []NewUser{{Username: name, Password: pw}} }
	for _, tc := range []struct {
		name string
		app  string
		reqs []NewUser
		code protocol.ErrorCode
	}{
		{"unknown app", "o#none", u("x", "pw"), protocol.CodeInvalidAppKey},
		{"empty batch", "o#a", nil, protocol.CodeUserIllegalArgument},
		{"batch over 60", "o#a", many, protocol.CodeUserIllegalArgument},
		{"empty username", "o#a", u("", "pw"), protocol.CodeInvalidUsername},
		{"bad characters", "o#a", u("a b", "pw"), protocol.CodeInvalidUsername},
		{"non-ASCII", "o#a", u("zoë", "pw"), protocol.CodeInvalidUsername},
		{"65 bytes", "o#a", u(strings.Repeat("a", 65), "pw"), protocol.CodeUsernameTooLong},
		{"empty password", "o#a", u("x", ""), protocol.CodeInvalidPassword},
		{"65-char password", "o#a", u("x", strings.Repeat("p", 65)), protocol.CodeInvalidPassword},
		{"invalid UTF-8 password", "o#a", u("x", "\xff"), protocol.CodeInvalidPassword},
		{"nickname too long", "o#a", []NewUser{{Username: "x", Password: "pw", Nickname: strings.Repeat("n", 101)}}, protocol.CodeUserIllegalArgument},
		{"existing user", "o#a", u("TAKEN", "pw"), protocol.CodeUserAlreadyExist},
		{"twice in batch", "o#a", []NewUser{{Username: "twin", Password: "pw"}, {Username: "Twin", Password: "pw"}}, protocol.CodeUserAlreadyExist},
		{"batch with one taken", "o#a", []NewUser{{Username: "fresh", Password: "pw"}, {Username: "taken", Password: "pw"}}, protocol.CodeUserAlreadyExist},
	} {
		_, err := e.svc.Register(e.ctx, tc.app, tc.reqs, "")
		wantCode(t, tc.name, err, tc.code)
	}
	// Nothing of a failed batch was stored.
	for _, name := range []string{"x", "fresh", "twin", "u0"} {
		_, err := e.svc.GetUser(e.ctx, "o#a", name)
		wantCode(t, "after failed batches, "+name, err, protocol.CodeUserNotFound)
	}
	// The duplicate error also wraps the store's.
	_, err := e.svc.Register(e.ctx, "o#a", u("taken", "pw"), "")
	if !errors.Is(err, store.ErrDuplicate) {
		t.Errorf("duplicate error %v does not wrap store.ErrDuplicate", err)
	}
	// 60 at once is fine.
	if _, err := e.svc.Register(e.ctx, "o#a", many[:MaxBatch], ""); err != nil {
		t.Errorf("batch of 60: %v", err)
	}
}

func TestRegisterAuthorized(t *testing.T) {
	e := newEnv(t)
	app := e.app(t, "o", "closed", store.RegistrationAuthorized)
	other := e.app(t, "o", "other", "")
	e.users(t, "o#closed", "member")
	appTok, err := e.svc.AppToken(e.ctx, "o#closed", app.ClientID, app.ClientSecret, 0)
	if err != nil {
		t.Fatal(err)
	}
	otherTok, _ := e.svc.AppToken(e.ctx, "o#other", other.ClientID, other.ClientSecret, 0)
	userTok := e.login(t, "o#closed", "member")
	shortTok, _ := e.svc.AppToken(e.ctx, "o#closed", app.ClientID, app.ClientSecret, 10e9)

	reqs := []NewUser{{Username: "new", Password: "pw"}}
	for _, tc := range []struct {
		name, token string
		code        protocol.ErrorCode
	}{
		{"no token", "", protocol.CodeRegistrationClosed},
		{"garbage token", "nope", protocol.CodeInvalidToken},
		{"user token", userTok.Token, protocol.CodeInvalidToken},
		{"app token of another app", otherTok.Token, protocol.CodeInvalidToken},
	} {
		_, err := e.svc.Register(e.ctx, "o#closed", reqs, tc.token)
		wantCode(t, tc.name, err, tc.code)
	}
	e.clk.Advance(11e9)
	_, err = e.svc.Register(e.ctx, "o#closed", reqs, shortTok.Token)
	wantCode(t, "expired app token", err, protocol.CodeInvalidToken)

	if _, err := e.svc.Register(e.ctx, "o#closed", reqs, appTok.Token); err != nil {
		t.Errorf("with the app token: %v", err)
	}
	// The admin path ignores the mode.
	if _, err := e.svc.CreateUsers(e.ctx, "o#closed", []NewUser{{Username: "admin-made", Password: "pw"}}); err != nil {
		t.Errorf("CreateUsers in authorized mode: %v", err)
	}
}

func TestListUsers(t *testing.T) {
	e := newEnv(t)
	e.app(t, "o", "a", "")
	e.app(t, "o", "b", "")
	e.users(t, "o#a", "carol", "alice", "bob", "dave", "erin")
	e.users(t, "o#b", "zed")
	var got []string
	cursor, pages := "", 0
	for {
		page, next, err := e.svc.ListUsers(e.ctx, "o#a", cursor, 2)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, u := range page {
			got = append(got, u.Username)
		}
		if next == "" {
			break
		}
		cursor = next
	}
	if fmt.Sprint(got) != "[alice bob carol dave erin]" || pages != 3 {
		t.Errorf("users %v in %d pages", got, pages)
	}
	if page, next, err := e.svc.ListUsers(e.ctx, "o#a", "", 0); err != nil || len(page) != 5 || next != "" {
		t.Errorf("default limit: %d users, next %q, %v", len(page), next, err)
	}
	if page, _, err := e.svc.ListUsers(e.ctx, "o#a", "", 1000); err != nil || len(page) != 5 {
		t.Errorf("limit 1000: %d users, %v", len(page), err)
	}
	_, _, err := e.svc.ListUsers(e.ctx, "o#a", "bad cursor!", 2)
	wantCode(t, "bad cursor", err, protocol.CodeBadMessage)
}

func TestGetUserErrors(t *testing.T) {
	e := newEnv(t)
	e.app(t, "o", "a", "")
	_, err := e.svc.GetUser(e.ctx, "o#a", "nobody")
	wantCode(t, "unknown user", err, protocol.CodeUserNotFound)
	_, err = e.svc.GetUser(e.ctx, "o#a", "bad name")
	wantCode(t, "bad name", err, protocol.CodeInvalidUsername)
	_, err = e.svc.GetUser(e.ctx, "o#a", strings.Repeat("x", 65))
	wantCode(t, "long name", err, protocol.CodeUsernameTooLong)
}

func TestDeleteUser(t *testing.T) {
	e := newEnv(t)
	e.app(t, "o", "a", "")
	e.users(t, "o#a", "alice", "bob")
	var deleted []string
	e.svc.OnUserDeleted = func(app, user string) { deleted = append(deleted, app+"/"+user) }
	alice := e.login(t, "o#a", "alice")
	bob := e.login(t, "o#a", "bob")
	if _, err := e.svc.Authenticate(e.ctx, alice.Token); err != nil { // now cached
		t.Fatal(err)
	}
	if err := e.svc.DeleteUser(e.ctx, "O#A", "ALICE"); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(deleted) != "[o#a/alice]" {
		t.Errorf("OnUserDeleted calls: %v", deleted)
	}
	_, err := e.svc.Authenticate(e.ctx, alice.Token)
	wantCode(t, "token of a deleted user", err, protocol.CodeInvalidToken)
	if _, err := e.svc.Authenticate(e.ctx, bob.Token); err != nil {
		t.Errorf("another user's token: %v", err)
	}
	_, err = e.svc.GetUser(e.ctx, "o#a", "alice")
	wantCode(t, "deleted user", err, protocol.CodeUserNotFound)
	wantCode(t, "delete twice", e.svc.DeleteUser(e.ctx, "o#a", "alice"), protocol.CodeUserNotFound)
	wantCode(t, "delete in unknown app", e.svc.DeleteUser(e.ctx, "o#none", "bob"), protocol.CodeInvalidAppKey)
	wantCode(t, "delete bad name", e.svc.DeleteUser(e.ctx, "o#a", "b c"), protocol.CodeInvalidUsername)
	if len(deleted) != 1 {
		t.Errorf("hook called for failed deletes: %v", deleted)
	}
	// The name is free again.
	e.users(t, "o#a", "alice")
}

func TestChangePassword(t *testing.T) {
	e := newEnv(t)
	e.app(t, "o", "a", "")
	e.users(t, "o#a", "alice", "bob")
	var revoked []string
	e.svc.OnTokensRevoked = func(r Revocation) { revoked = append(revoked, r.App+"/"+r.User+r.TokenHash) }
	t1 := e.login(t, "o#a", "alice")
	t2 := e.login(t, "o#a", "alice")
	bob := e.login(t, "o#a", "bob")
	if _, err := e.svc.Authenticate(e.ctx, t1.Token); err != nil { // cached
		t.Fatal(err)
	}
	if err := e.svc.ChangePassword(e.ctx, "o#a", "Alice", "new-pw"); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(revoked) != "[o#a/alice]" {
		t.Errorf("OnTokensRevoked calls: %v", revoked)
	}
	for _, tok := range []Issued{t1, t2} {
		_, err := e.svc.Authenticate(e.ctx, tok.Token)
		wantCode(t, "token from before the change", err, protocol.CodeInvalidToken)
	}
	if _, err := e.svc.Authenticate(e.ctx, bob.Token); err != nil {
		t.Errorf("bob's token: %v", err)
	}
	_, err := e.svc.PasswordToken(e.ctx, "o#a", "alice", "pw-alice", 0)
	wantCode(t, "old password", err, protocol.CodeUserAuthFailed)
	if _, err := e.svc.PasswordToken(e.ctx, "o#a", "alice", "new-pw", 0); err != nil {
		t.Errorf("new password: %v", err)
	}
	wantCode(t, "empty password", e.svc.ChangePassword(e.ctx, "o#a", "alice", ""), protocol.CodeInvalidPassword)
	wantCode(t, "unknown user", e.svc.ChangePassword(e.ctx, "o#a", "nobody", "pw"), protocol.CodeUserNotFound)
	wantCode(t, "unknown app", e.svc.ChangePassword(e.ctx, "o#x", "alice", "pw"), protocol.CodeInvalidAppKey)
}
