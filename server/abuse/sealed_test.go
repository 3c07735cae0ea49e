package abuse_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/duet-rtc/duet/server/api"
	"github.com/duet-rtc/duet/server/seal"
	"github.com/duet-rtc/duet/server/servertest"
	"github.com/duet-rtc/duet/server/store"
)

// TestStoredSecretsSealed: the secrets the server must read back (a webhook's signing
// secret, push credentials) are not in the database files in clear, those an older server
// stored in clear are sealed at the next start, and the admin API shows their URLs without
// credentials.
func TestStoredSecretsSealed(t *testing.T) {
	s := servertest.Start(t)
	admin := &api.AdminClient{BaseURL: s.URL, Token: s.AdminToken()}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	const hookSecret = "hook-secret-0123456789"
	const pushSecret = "push-secret-0123456789"
	hook, err := admin.SetWebhook(ctx, s.AppKey, "https://user:pw@hooks.example.com/duet?token=t0k3n", hookSecret)
	if err != nil {
		t.Fatal(err)
	}
	doc, _ := json.Marshal(map[string]string{"url": "https://push.example.com/send?key=k3y", "secret": pushSecret})
	if status, body := s.Do(http.MethodPut, "/admin/v1/apps/"+strings.Replace(s.AppKey, "#", "/", 1)+"/push/webhook", s.AdminToken(), doc); status != http.StatusOK {
		t.Fatalf("set push credentials: %d %s", status, body)
	}
	// What the admin API shows.
	hooks, err := admin.ListWebhooks(ctx, s.AppKey)
	if err != nil || len(hooks) != 1 {
		t.Fatalf("ListWebhooks = %+v, %v", hooks, err)
	}
	for _, leak := range []string{"pw", "t0k3n"} {
		if strings.Contains(hooks[0].URL, leak) {
			t.Errorf("webhook URL shown as %q", hooks[0].URL)
		}
	}
	_, body := s.Do(http.MethodGet, "/admin/v1/apps/"+strings.Replace(s.AppKey, "#", "/", 1)+"/push", s.AdminToken(), nil)
	if bytes.Contains(body, []byte("k3y")) || bytes.Contains(body, []byte(pushSecret)) {
		t.Errorf("push credentials shown as %s", body)
	}

	// What the database holds.
	raw := s.Store().(*seal.Store).Unwrap()
	eps, _ := raw.ListWebhookEndpoints(ctx, s.AppKey)
	if len(eps) != 1 || !seal.Sealed(eps[0].Secret) {
		t.Fatalf("stored webhook secret %+v", eps)
	}
	// An endpoint stored in clear by an older server.
	old := store.WebhookEndpoint{App: s.AppKey, ID: "wh_old", URL: "https://old.example.com/", Secret: "old-secret-in-clear", Created: eps[0].Created, Updated: eps[0].Updated}
	if err := raw.PutWebhookEndpoint(ctx, old); err != nil {
		t.Fatal(err)
	}
	s.Restart()
	raw = s.Store().(*seal.Store).Unwrap()
	eps, _ = raw.ListWebhookEndpoints(ctx, s.AppKey)
	for _, e := range eps {
		if !seal.Sealed(e.Secret) {
			t.Errorf("endpoint %s still in clear after a restart", e.ID)
		}
	}
	// The server reads them back.
	opened, err := s.Store().ListWebhookEndpoints(ctx, s.AppKey)
	if err != nil || len(opened) != 2 {
		t.Fatalf("ListWebhookEndpoints = %+v, %v", opened, err)
	}
	for _, e := range opened {
		if e.ID == hook.ID && e.Secret != hookSecret || e.ID == "wh_old" && e.Secret != old.Secret {
			t.Errorf("endpoint %s opened to %q", e.ID, e.Secret)
		}
	}
	s.Stop()
	// Nothing in the files: the database, its WAL, and the rest of the data folder.
	filepath.WalkDir(s.Config.DataDir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := os.ReadFile(path)
		for _, secret := range []string{hookSecret, pushSecret, old.Secret} {
			if bytes.Contains(b, []byte(secret)) {
				t.Errorf("%s holds %q in clear", filepath.Base(path), secret)
			}
		}
		return nil
	})
}
