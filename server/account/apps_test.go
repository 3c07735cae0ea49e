package account

import (
	"strings"
	"testing"

	"github.com/duet-rtc/duet/protocol"
	"github.com/duet-rtc/duet/server/store"
)

func TestCreateApp(t *testing.T) {
	e := newEnv(t)
	a := e.app(t, "acme", "chat-1_x", "")
	if a.Key != "acme#chat-1_x" || a.Registration != store.RegistrationOpen || !a.Created.Equal(start) {
		t.Errorf("app = %+v", a)
	}
	if !strings.HasPrefix(a.ClientID, "YXA6") || len(a.ClientID) != 4+22 || len(a.ClientSecret) != 43 {
		t.Errorf("credentials %q / %q", a.ClientID, a.ClientSecret)
	}
	b := e.app(t, "acme", "other", store.RegistrationAuthorized)
	if b.ClientID == a.ClientID || b.ClientSecret == a.ClientSecret {
		t.Error("two apps share credentials")
	}

	long := strings.Repeat("a", 65)
	for _, tc := range []struct {
		org, name, reg string
		code           protocol.ErrorCode
	}{
		{"", "x", "", protocol.CodeInvalidAppKey},
		{"x", "", "", protocol.CodeInvalidAppKey},
		{"a#b", "x", "", protocol.CodeInvalidAppKey},
		{"a.b", "x", "", protocol.CodeInvalidAppKey},
		{"x", "a b", "", protocol.CodeInvalidAppKey},
		{"x", "é", "", protocol.CodeInvalidAppKey},
		{long, "x", "", protocol.CodeInvalidAppKey},
		{"x", long, "", protocol.CodeInvalidAppKey},
		{"x", "y", "closed", protocol.CodeUserIllegalArgument},
		{"acme", "chat-1_x", "", protocol.CodeAppAlreadyExist},
		{"ACME", "Chat-1_X", "", protocol.CodeAppAlreadyExist},
	} {
		_, err := e.svc.CreateApp(e.ctx, tc.org, tc.name, tc.reg)
		wantCode(t, tc.org+"#"+tc.name, err, tc.code)
	}
	if _, err := e.svc.CreateApp(e.ctx, strings.Repeat("a", 64), strings.Repeat("b", 64), ""); err != nil {
		t.Errorf("64-character names rejected: %v", err)
	}
}

func TestGetAndListApps(t *testing.T) {
	e := newEnv(t)
	a := e.app(t, "org", "b", "")
	b := e.app(t, "org", "a", "")
	a, b = stored(a), stored(b)
	if got, err := e.svc.GetApp(e.ctx, "ORG#B"); err != nil || got != a {
		t.Errorf("GetApp = %+v, %v", got, err)
	}
	for _, key := range []string{"org#none", "org", "", "a#b#c", "#x"} {
		_, err := e.svc.GetApp(e.ctx, key)
		wantCode(t, "GetApp "+key, err, protocol.CodeInvalidAppKey)
	}
	apps, err := e.svc.ListApps(e.ctx)
	if err != nil || len(apps) != 2 || apps[0] != b || apps[1] != a {
		t.Errorf("ListApps = %+v, %v", apps, err)
	}
}

func TestEnsureApp(t *testing.T) {
	e := newEnv(t)
	a, created, err := e.svc.EnsureApp(e.ctx, "demo", "duet", store.RegistrationOpen)
	if err != nil || !created || a.Key != "demo#duet" {
		t.Fatalf("first EnsureApp = %+v, %v, %v", a, created, err)
	}
	b, created, err := e.svc.EnsureApp(e.ctx, "demo", "duet", store.RegistrationAuthorized)
	if err != nil || created || b != stored(a) {
		t.Errorf("second EnsureApp = %+v, %v, %v; want the first app unchanged", b, created, err)
	}
	_, _, err = e.svc.EnsureApp(e.ctx, "bad org", "duet", "")
	wantCode(t, "EnsureApp bad name", err, protocol.CodeInvalidAppKey)
}

func TestSplitAppKey(t *testing.T) {
	if org, name, err := SplitAppKey("a#b"); err != nil || org != "a" || name != "b" {
		t.Errorf("SplitAppKey(a#b) = %q, %q, %v", org, name, err)
	}
	for _, bad := range []string{"ab", "a#", "#b", "a#b#c", "a b#c"} {
		if _, _, err := SplitAppKey(bad); protocol.CodeOf(err) != protocol.CodeInvalidAppKey {
			t.Errorf("SplitAppKey(%q) = %v", bad, err)
		}
	}
}

// stored is app as the store keeps it: CreateApp returns the client secret in clear, once.
func stored(app store.App) store.App {
	app.ClientSecret = HashSecret(app.ClientSecret)
	return app
}

func TestClientSecretsHashed(t *testing.T) {
	e := newEnv(t)
	a := e.app(t, "org", "a", "")
	// An app from before secrets were hashed.
	legacy := store.App{Key: "org#old", Org: "org", Name: "old", ClientID: "YXA6old", ClientSecret: "old-secret-in-clear",
		Registration: store.RegistrationOpen, Created: a.Created}
	if err := e.st.CreateApp(e.ctx, legacy); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.st.GetApp(e.ctx, a.Key); got.ClientSecret == a.ClientSecret || !SecretHashed(got.ClientSecret) {
		t.Fatalf("stored secret %q", got.ClientSecret)
	}
	for _, tc := range []struct{ app, id, secret string }{{a.Key, a.ClientID, a.ClientSecret}, {legacy.Key, legacy.ClientID, legacy.ClientSecret}} {
		if _, err := e.svc.AppToken(e.ctx, tc.app, tc.id, tc.secret, 0); err != nil {
			t.Errorf("AppToken %s: %v", tc.app, err)
		}
		_, err := e.svc.AppToken(e.ctx, tc.app, tc.id, tc.secret+"x", 0)
		wantCode(t, "wrong secret", err, protocol.CodeUserAuthFailed)
	}
	if n, err := e.svc.HashClientSecrets(e.ctx); err != nil || n != 1 {
		t.Fatalf("HashClientSecrets = %d, %v", n, err)
	}
	if got, _ := e.st.GetApp(e.ctx, legacy.Key); got.ClientSecret != HashSecret(legacy.ClientSecret) {
		t.Fatalf("legacy secret stored as %q after HashClientSecrets", got.ClientSecret)
	}
	if _, err := e.svc.AppToken(e.ctx, legacy.Key, legacy.ClientID, legacy.ClientSecret, 0); err != nil {
		t.Errorf("the legacy secret after hashing: %v", err)
	}
	// Rotation: the new secret works, the old one no longer does.
	r, err := e.svc.RotateClientSecret(e.ctx, a.Key)
	if err != nil || r.ClientSecret == a.ClientSecret {
		t.Fatalf("RotateClientSecret = %+v, %v", r, err)
	}
	if _, err := e.svc.AppToken(e.ctx, a.Key, a.ClientID, r.ClientSecret, 0); err != nil {
		t.Errorf("the new secret: %v", err)
	}
	_, err = e.svc.AppToken(e.ctx, a.Key, a.ClientID, a.ClientSecret, 0)
	wantCode(t, "the old secret", err, protocol.CodeUserAuthFailed)
}
