package abuse_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/duet-rtc/duet/protocol"
	"github.com/duet-rtc/duet/server/api"
	"github.com/duet-rtc/duet/server/servertest"
	"github.com/duet-rtc/duet/server/signal"
)

// revokeWithin is how soon a revoked token's live connections must close, counted from the
// revoking request's reply (the kick is queued before the reply is written).
const revokeWithin = time.Second

// expectKicked checks that d is kicked with reason and closed, within revokeWithin of since.
func expectKicked(t *testing.T, d *device, reason protocol.EndReason, since time.Time) time.Duration {
	t.Helper()
	frames, ce, err := d.closed()
	took := time.Since(since)
	if err != nil {
		t.Fatalf("connection ended with %v, want a close", err)
	}
	if ce.Code != signal.CloseKicked {
		t.Fatalf("closed with %d %q, want %d", ce.Code, ce.Reason, signal.CloseKicked)
	}
	var k protocol.Kicked
	if n := len(frames); n == 0 || frames[n-1].Type != protocol.TypeKicked || frames[n-1].DecodeData(&k) != nil || k.Reason != reason {
		t.Fatalf("frames before the close: %+v, want kicked %v", frames, reason)
	}
	if took > revokeWithin {
		t.Fatalf("the revoked session closed after %v, want within %v", took, revokeWithin)
	}
	return took
}

func TestLogoutClosesItsSessionsOnly(t *testing.T) {
	s := servertest.Start(t)
	s.AddUser("alice", "secret-1")
	stolen := login(t, s, "alice", "secret-1")
	other := login(t, s, "alice", "secret-1")
	thief := connect(t, s, stolen, "thief")
	phone := connect(t, s, other, "phone")
	if status, body := s.Do(http.MethodPost, appPath(s)+"/logout", stolen, nil); status != http.StatusOK {
		t.Fatalf("logout: %d %s", status, body)
	}
	start := time.Now()
	expectKicked(t, thief, protocol.EndTokenRevoked, start)
	if err := phone.ping(); err != nil {
		t.Fatalf("the other token's device: %v", err)
	}
	if _, err := tryConnect(t, s, stolen, "thief"); protocol.CodeOf(err) != protocol.CodeInvalidToken {
		t.Fatalf("reconnect with the revoked token: %v", err)
	}
}

func TestPasswordChangeClosesEverySession(t *testing.T) {
	s := servertest.Start(t)
	s.AddUser("alice", "secret-1")
	s.AddUser("bob", "secret-2")
	tok := login(t, s, "alice", "secret-1")
	devs := []*device{connect(t, s, tok, "phone"), connect(t, s, login(t, s, "alice", "secret-1"), "laptop")}
	bob := connect(t, s, login(t, s, "bob", "secret-2"), "phone")
	b, _ := json.Marshal(map[string]string{"newpassword": "secret-3"})
	if status, body := s.Do(http.MethodPut, appPath(s)+"/users/alice/password", tok, b); status != http.StatusOK {
		t.Fatalf("password change: %d %s", status, body)
	}
	start := time.Now()
	for _, d := range devs {
		took := expectKicked(t, d, protocol.EndTokenRevoked, start)
		t.Logf("password change's reply → old session closed in %v", took)
	}
	if err := bob.ping(); err != nil {
		t.Fatalf("another user's device: %v", err)
	}
}

func TestDeletionAndOperatorKickCloseSessions(t *testing.T) {
	s := servertest.Start(t)
	s.AddUser("alice", "secret-1")
	s.AddUser("carol", "secret-1")
	admin := &api.AdminClient{BaseURL: s.URL, Token: s.AdminToken()}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()

	carol := connect(t, s, login(t, s, "carol", "secret-1"), "phone")
	if err := admin.RevokeTokens(ctx, s.AppKey, "carol"); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	expectKicked(t, carol, protocol.EndBeenKicked, start)

	alice := connect(t, s, login(t, s, "alice", "secret-1"), "phone")
	if err := admin.DeleteUser(ctx, s.AppKey, "alice"); err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	expectKicked(t, alice, protocol.EndDestroy, start)
}
