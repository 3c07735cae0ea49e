package duet_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/duet-rtc/duet/server/servertest"
)

// TestPasswordChangeLogsTheClientOut: a password change elsewhere revokes the client's
// token; the server closes its connection (kicked, TokenRevoked) and the client reports
// TokenDidExpire and stops reconnecting.
func TestPasswordChangeLogsTheClientOut(t *testing.T) {
	srv := servertest.Start(t)
	c, rec := newClient(t, srv, "grace")
	app := strings.Replace(srv.AppKey, "#", "/", 1)
	status, reply := srv.Do("POST", "/admin/v1/apps/"+app+"/token", srv.AdminToken(), nil)
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if status != 200 || json.Unmarshal(reply, &tok) != nil {
		t.Fatalf("app token: %d %s", status, reply)
	}
	body, _ := json.Marshal(map[string]string{"newpassword": "a-new-password"})
	start := time.Now()
	if status, reply := srv.Do("PUT", "/"+app+"/users/grace/password", tok.AccessToken, body); status != 200 {
		t.Fatalf("password change: %d %s", status, reply)
	}
	rec.wait(t, "tokenExpired")
	t.Logf("TokenDidExpire %v after the password change", time.Since(start))
	if c.CurrentUsername() != "" {
		t.Fatal("client still logged in after its token was revoked")
	}
}
