package duet_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/duet-rtc/duet"
	"github.com/duet-rtc/duet/internal/leaktest"
	"github.com/duet-rtc/duet/server/servertest"
)

func TestLoginLogout(t *testing.T) {
	leaktest.Check(t) // first, so that its check runs after the server's cleanup
	srv := servertest.Start(t)
	logDir := t.TempDir()
	c, rec := newClient(t, srv, "Alice", func(o *duet.Options) { o.LogDir = logDir })
	if !c.IsConnected() || c.CurrentUsername() != "alice" {
		t.Fatalf("connected=%v user=%q, want true alice", c.IsConnected(), c.CurrentUsername())
	}
	rec.wait(t, "conn:connected")
	if err := c.Logout(ctxT(t)); err != nil {
		t.Fatalf("logout: %v", err)
	}
	if c.IsConnected() || c.CurrentUsername() != "" {
		t.Fatalf("after logout connected=%v user=%q", c.IsConnected(), c.CurrentUsername())
	}
	rec.wait(t, "conn:disconnected")
	c.Close()
	b, err := os.ReadFile(filepath.Join(logDir, duet.LogFileName))
	if err != nil || !strings.Contains(string(b), "logged in") || !strings.Contains(string(b), "logged out") {
		t.Fatalf("SDK log file: err=%v content=%q", err, b)
	}
}

func TestLoginErrors(t *testing.T) {
	srv := servertest.Start(t)
	newClient(t, srv, "bob")
	c, err := duet.NewClient(duet.Options{AppKey: srv.AppKey, ServerURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(ctxT(t), "bob", "wrong"); duet.ErrorCodeOf(err) != duet.ErrorUserAuthFailed {
		t.Fatalf("wrong password: got %v, want code %d", err, duet.ErrorUserAuthFailed)
	}
	if err := c.Register(ctxT(t), "bob", "x"); duet.ErrorCodeOf(err) != duet.ErrorUserAlreadyExist {
		t.Fatalf("duplicate register: got %v", err)
	}
	if err := c.LoginWithToken(ctxT(t), "bob", "not-a-token"); duet.ErrorCodeOf(err) != 104 {
		t.Fatalf("bad token: got %v, want code 104", err)
	}
	if _, err := c.CallManager().StartCall(ctxT(t), duet.CallTypeVoice, "bob", ""); err != duet.ErrNotLoggedIn {
		t.Fatalf("StartCall logged out: got %v", err)
	}
	if _, err := duet.NewClient(duet.Options{AppKey: "nohash", ServerURL: srv.URL}); duet.ErrorCodeOf(err) != duet.ErrorInvalidAppKey {
		t.Fatalf("bad appkey: got %v", err)
	}
	if _, err := duet.NewClient(duet.Options{AppKey: "a#b", ServerURL: srv.URL, PingInterval: time.Second}); err == nil {
		t.Fatal("ping interval below 10 s accepted")
	}
}

func TestDeviceReplacement(t *testing.T) {
	srv := servertest.Start(t)
	same := func(o *duet.Options) { o.DeviceID = "phone-1" }
	first, rec1 := newClient(t, srv, "carol", same)
	second, _ := newClient(t, srv, "carol", same)
	rec1.wait(t, "otherDevice")
	if first.IsConnected() || first.CurrentUsername() != "" {
		t.Fatal("the replaced client still thinks it is logged in")
	}
	if !second.IsConnected() {
		t.Fatal("the new client is not connected")
	}
}

func TestReconnectAfterServerRestart(t *testing.T) {
	srv := servertest.Start(t)
	c, rec := newClient(t, srv, "dave")
	rec.wait(t, "conn:connected")
	srv.Restart()
	rec.wait(t, "conn:disconnected")
	rec.wait(t, "conn:connected")
	if !c.IsConnected() || c.CurrentUsername() != "dave" {
		t.Fatalf("after restart connected=%v user=%q", c.IsConnected(), c.CurrentUsername())
	}
}

func TestDeletedUserIsToldAndStopsReconnecting(t *testing.T) {
	srv := servertest.Start(t)
	c, rec := newClient(t, srv, "erin")
	status, body := srv.Do("DELETE", "/admin/v1/apps/"+strings.Replace(srv.AppKey, "#", "/", 1)+"/users/erin", srv.AdminToken(), nil)
	if status != 200 {
		t.Fatalf("delete user: %d %s", status, body)
	}
	rec.wait(t, "removed")
	if c.CurrentUsername() != "" {
		t.Fatal("client still logged in after its user was deleted")
	}
}

// TestConcurrentLogin: two Logins at once on one client give one login and an error for
// the other, not two connections of which the server kicks one.
func TestConcurrentLogin(t *testing.T) {
	srv := servertest.Start(t)
	c, rec := newLoggedOutClient(t, srv, "frank")
	errs := make(chan error, 2)
	for range 2 {
		go func() { errs <- c.Login(ctxT(t), "frank", "pw-frank") }()
	}
	e1, e2 := <-errs, <-errs
	if (e1 == nil) == (e2 == nil) {
		t.Fatalf("two concurrent logins returned %v and %v, want one success and one error", e1, e2)
	}
	if !c.IsConnected() || c.CurrentUsername() != "frank" {
		t.Fatalf("connected=%v user=%q", c.IsConnected(), c.CurrentUsername())
	}
	// Nothing was kicked: the one connection stays.
	if err := c.Logout(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if rec.has("otherDevice") {
		t.Fatal("the server saw two logins of one device")
	}
}
