package account

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/duet-rtc/duet/protocol"
	"github.com/duet-rtc/duet/server/store"
)

func TestPasswordToken(t *testing.T) {
	e := newEnv(t)
	e.app(t, "o", "a", "")
	e.app(t, "o", "b", "")
	e.users(t, "o#a", "alice")
	iss, err := e.svc.PasswordToken(e.ctx, "o#a", "ALICE", "pw-alice", 0)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(iss.Token, TokenPrefix) || len(iss.Token) != len(TokenPrefix)+43 {
		t.Errorf("token %q", iss.Token)
	}
	if iss.TTL != DefaultTokenTTL || !iss.Info.Expires.Equal(start.Add(DefaultTokenTTL)) || iss.Info.Kind != store.TokenUser ||
		iss.Info.Username != "alice" || iss.User.Username != "alice" || iss.App.Key != "o#a" || iss.Info.Hash != HashToken(iss.Token) {
		t.Errorf("issued %+v", iss)
	}
	// Only the hash is stored.
	if _, err := e.st.GetToken(e.ctx, iss.Token); err == nil {
		t.Error("token stored in the clear")
	}
	if got, err := e.st.GetToken(e.ctx, HashToken(iss.Token)); err != nil || got != iss.Info {
		t.Errorf("stored token %+v, %v", got, err)
	}

	var msgs []string
	for _, tc := range []struct{ app, user, pw string }{
		{"o#a", "alice", "wrong"},
		{"o#a", "nobody", "pw-alice"},
		{"o#a", "bad name", "pw-alice"},
		{"o#a", "alice", ""},
		{"o#a", "alice", strings.Repeat("x", 65)},
		{"o#b", "alice", "pw-alice"}, // right credentials, other app
	} {
		_, err := e.svc.PasswordToken(e.ctx, tc.app, tc.user, tc.pw, 0)
		wantCode(t, tc.user+"/"+tc.pw, err, protocol.CodeUserAuthFailed)
		if err != nil {
			msgs = append(msgs, err.Error())
		}
	}
	for _, m := range msgs[1:] {
		if m != msgs[0] {
			t.Errorf("auth failures differ: %q vs %q", m, msgs[0])
		}
	}
	_, err = e.svc.PasswordToken(e.ctx, "o#none", "alice", "pw-alice", 0)
	wantCode(t, "unknown app", err, protocol.CodeInvalidAppKey)
	for _, ttl := range []time.Duration{-time.Second, MaxTokenTTL + time.Second} {
		_, err = e.svc.PasswordToken(e.ctx, "o#a", "alice", "pw-alice", ttl)
		wantCode(t, "ttl "+ttl.String(), err, protocol.CodeUserIllegalArgument)
	}
}

func TestTokenExpiry(t *testing.T) {
	e := newEnv(t)
	e.app(t, "o", "a", "")
	e.users(t, "o#a", "alice")
	iss, err := e.svc.PasswordToken(e.ctx, "o#a", "alice", "pw-alice", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Authenticate(e.ctx, iss.Token); err != nil {
		t.Fatal(err)
	}
	e.clk.Advance(time.Hour - time.Millisecond)
	if _, err := e.svc.Authenticate(e.ctx, iss.Token); err != nil {
		t.Errorf("just before expiry: %v", err)
	}
	e.clk.Advance(time.Millisecond)
	_, err = e.svc.Authenticate(e.ctx, iss.Token)
	wantCode(t, "expired", err, protocol.CodeInvalidToken)
	if err == nil || !strings.Contains(err.Error(), "expired") {
		t.Errorf("expired token error %v does not say expired", err)
	}
	// Not cached either: a fresh service over the same store agrees.
	fresh := New(e.st, e.clk)
	_, err = fresh.Authenticate(e.ctx, iss.Token)
	wantCode(t, "expired, uncached", err, protocol.CodeInvalidToken)

	n, err := e.svc.PurgeExpiredTokens(e.ctx)
	if err != nil || n != 1 {
		t.Errorf("PurgeExpiredTokens = %d, %v", n, err)
	}
	_, err = e.svc.Authenticate(e.ctx, iss.Token)
	if err == nil || !strings.Contains(err.Error(), "unknown") {
		t.Errorf("purged token: %v; want unknown", err)
	}
}

func TestAppToken(t *testing.T) {
	e := newEnv(t)
	a := e.app(t, "o", "a", "")
	b := e.app(t, "o", "b", "")
	iss, err := e.svc.AppToken(e.ctx, "o#a", a.ClientID, a.ClientSecret, 2*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if iss.Info.Kind != store.TokenApp || iss.Info.Username != "" || iss.TTL != 2*time.Hour {
		t.Errorf("issued %+v", iss)
	}
	for _, tc := range []struct{ name, id, secret string }{
		{"wrong secret", a.ClientID, "x"},
		{"wrong id", "x", a.ClientSecret},
		{"empty", "", ""},
		{"other app's credentials", b.ClientID, b.ClientSecret},
	} {
		_, err := e.svc.AppToken(e.ctx, "o#a", tc.id, tc.secret, 0)
		wantCode(t, tc.name, err, protocol.CodeUserAuthFailed)
	}
	adm, err := e.svc.IssueAppToken(e.ctx, "o#b", 0)
	if err != nil || adm.Info.Kind != store.TokenApp || adm.App.Key != "o#b" {
		t.Errorf("IssueAppToken = %+v, %v", adm, err)
	}
	_, err = e.svc.IssueAppToken(e.ctx, "o#none", 0)
	wantCode(t, "IssueAppToken unknown app", err, protocol.CodeInvalidAppKey)
	_, err = e.svc.IssueAppToken(e.ctx, "o#b", -1)
	wantCode(t, "IssueAppToken bad ttl", err, protocol.CodeUserIllegalArgument)
}

func TestAuthenticate(t *testing.T) {
	e := newEnv(t)
	e.app(t, "o", "a", "")
	e.app(t, "o", "b", "")
	e.users(t, "o#a", "alice")
	user := e.login(t, "o#a", "alice")
	app, _ := e.svc.IssueAppToken(e.ctx, "o#a", 0)

	for _, tc := range []struct {
		name, token string
		msg         string
	}{
		{"empty", "", "missing"},
		{"unknown", "duet_nope", "unknown"},
		{"huge", strings.Repeat("x", 10000), "unknown"},
	} {
		_, err := e.svc.Authenticate(e.ctx, tc.token)
		wantCode(t, tc.name, err, protocol.CodeInvalidToken)
		if err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: %v; want it to say %q", tc.name, err, tc.msg)
		}
	}

	if got, err := e.svc.AuthenticateUser(e.ctx, "O#A", user.Token); err != nil || got != user.Info {
		t.Errorf("AuthenticateUser = %+v, %v", got, err)
	}
	if got, err := e.svc.AuthenticateApp(e.ctx, "o#a", app.Token); err != nil || got != app.Info {
		t.Errorf("AuthenticateApp = %+v, %v", got, err)
	}
	if _, err := e.svc.AuthenticateFor(e.ctx, "o#a", user.Token); err != nil {
		t.Errorf("AuthenticateFor any kind: %v", err)
	}
	for _, tc := range []struct {
		name string
		f    func() error
	}{
		{"user token as app token", func() error { _, err := e.svc.AuthenticateApp(e.ctx, "o#a", user.Token); return err }},
		{"app token as user token", func() error { _, err := e.svc.AuthenticateUser(e.ctx, "o#a", app.Token); return err }},
		{"user token of another app", func() error { _, err := e.svc.AuthenticateUser(e.ctx, "o#b", user.Token); return err }},
		{"app token of another app", func() error { _, err := e.svc.AuthenticateFor(e.ctx, "o#b", app.Token); return err }},
	} {
		wantCode(t, tc.name, tc.f(), protocol.CodeInvalidToken)
	}
}

func TestRevoke(t *testing.T) {
	e := newEnv(t)
	e.app(t, "o", "a", "")
	e.users(t, "o#a", "alice")
	t1 := e.login(t, "o#a", "alice")
	t2 := e.login(t, "o#a", "alice")
	for _, tok := range []Issued{t1, t2} {
		if _, err := e.svc.Authenticate(e.ctx, tok.Token); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.svc.Revoke(e.ctx, t1.Token); err != nil {
		t.Fatal(err)
	}
	_, err := e.svc.Authenticate(e.ctx, t1.Token)
	wantCode(t, "revoked", err, protocol.CodeInvalidToken)
	if _, err := e.svc.Authenticate(e.ctx, t2.Token); err != nil {
		t.Errorf("the other token: %v", err)
	}
	wantCode(t, "revoke twice", e.svc.Revoke(e.ctx, t1.Token), protocol.CodeInvalidToken)
	wantCode(t, "revoke empty", e.svc.Revoke(e.ctx, ""), protocol.CodeInvalidToken)
}

// TestRevokeRace checks that a token revoked while being authenticated is never cached
// again: after Revoke returns, Authenticate fails.
func TestRevokeRace(t *testing.T) {
	e := newEnv(t)
	e.app(t, "o", "a", "")
	e.users(t, "o#a", "alice")
	for range 20 {
		iss := e.login(t, "o#a", "alice")
		e.svc.cache.drop(iss.Info.Hash) // start uncached
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				for range 5 {
					e.svc.Authenticate(e.ctx, iss.Token)
				}
			})
		}
		if err := e.svc.Revoke(e.ctx, iss.Token); err != nil {
			t.Fatal(err)
		}
		wg.Wait()
		if _, err := e.svc.Authenticate(e.ctx, iss.Token); err == nil {
			t.Fatal("revoked token still authenticates")
		}
	}
}

func TestTokenCache(t *testing.T) {
	c := newTokenCache(10, time.Minute)
	tok := func(i int) store.Token {
		return store.Token{Hash: string(rune('a' + i)), App: "O#A", Kind: store.TokenUser, Username: "u"}
	}
	for i := range 25 {
		c.add(tok(i), c.generation())
		if c.len() > 10 {
			t.Fatalf("cache grew to %d", c.len())
		}
	}
	// A stale generation does not add.
	g := c.generation()
	c.drop("zz")
	c.add(tok(30), g)
	if _, ok := c.get(tok(30).Hash); ok {
		t.Error("add with a stale generation stored the token")
	}
	// dropUser takes all of a user's tokens, whatever the case of the key.
	c.dropUser("o#a", "U")
	if c.len() != 0 || len(c.byUser) != 0 {
		t.Errorf("after dropUser: %d entries, %d users", c.len(), len(c.byUser))
	}
	// Entries older than maxAge are not served.
	old := newTokenCache(10, -1)
	old.add(tok(1), old.generation())
	if _, ok := old.get(tok(1).Hash); ok {
		t.Error("stale entry served")
	}
}

func TestCancelledContext(t *testing.T) {
	e := newEnv(t)
	e.app(t, "o", "a", "")
	ctx, cancel := context.WithCancel(e.ctx)
	cancel()
	_, err := e.svc.Authenticate(ctx, "duet_whatever")
	if code := protocol.CodeOf(err); code != protocol.CodeServerTimeout {
		t.Errorf("cancelled Authenticate: %v", err)
	}
}

// BenchmarkAuthenticate measures the WebSocket connect path's token check: cached, and
// uncached (every token new to the cache).
func BenchmarkAuthenticate(b *testing.B) {
	e := newEnv(b)
	e.app(b, "o", "a", "")
	e.users(b, "o#a", "alice")
	iss := e.login(b, "o#a", "alice")
	b.Run("cached", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := e.svc.AuthenticateUser(e.ctx, "o#a", iss.Token); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "auths/s")
	})
	b.Run("uncached", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				e.svc.cache.drop(iss.Info.Hash)
				if _, err := e.svc.AuthenticateUser(e.ctx, "o#a", iss.Token); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "auths/s")
	})
}

// BenchmarkPasswordToken measures a login with DefaultHashParams.
func BenchmarkPasswordToken(b *testing.B) {
	e := newEnv(b)
	e.svc.Hash = DefaultHashParams
	e.app(b, "o", "a", "")
	e.users(b, "o#a", "alice")
	for b.Loop() {
		if _, err := e.svc.PasswordToken(e.ctx, "o#a", "alice", "pw-alice", 0); err != nil {
			b.Fatal(err)
		}
	}
}
