package server_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/duet-rtc/duet/protocol"
	"github.com/duet-rtc/duet/server/servertest"
)

// TestWebPushKeyEndpoint: GET /{org}/{app}/push/webpush gives a signed-in page the app's
// VAPID public key, the same one every time (stored, sealed); without a token it is 401.
func TestWebPushKeyEndpoint(t *testing.T) {
	srv := servertest.Start(t)
	srv.AddUser("alice", "pw")
	base := "/" + strings.Replace(srv.AppKey, "#", "/", 1)
	body, _ := json.Marshal(map[string]string{"grant_type": "password", "username": "alice", "password": "pw"})
	status, reply := srv.Do(http.MethodPost, base+"/token", "", body)
	if status != http.StatusOK {
		t.Fatalf("token: %d %s", status, reply)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.Unmarshal(reply, &tok)
	key := func() string {
		t.Helper()
		status, reply := srv.Do(http.MethodGet, base+"/push/webpush", tok.AccessToken, nil)
		var r struct {
			Entities []struct {
				PublicKey string `json:"publicKey"`
			} `json:"entities"`
		}
		if status != http.StatusOK || json.Unmarshal(reply, &r) != nil || len(r.Entities) != 1 {
			t.Fatalf("GET push/webpush: %d %s", status, reply)
		}
		return r.Entities[0].PublicKey
	}
	first := key()
	if k, err := protocol.DecodeBase64URL(first); err != nil || len(k) != 65 || k[0] != 4 {
		t.Fatalf("public key %q is not an uncompressed P-256 point", first)
	}
	if again := key(); again != first {
		t.Fatalf("the key changed: %q then %q", first, again)
	}
	if status, _ := srv.Do(http.MethodGet, base+"/push/webpush", "", nil); status != http.StatusUnauthorized {
		t.Fatalf("without a token: %d, want 401", status)
	}
}
