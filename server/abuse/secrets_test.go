package abuse_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/duet-rtc/duet/server/account"
	"github.com/duet-rtc/duet/server/api"
	"github.com/duet-rtc/duet/server/servertest"
)

// TestClientSecretShownOnce: an app's client secret is in the reply that created it and
// nowhere else, neither in the admin API's listing nor in the database.
func TestClientSecretShownOnce(t *testing.T) {
	s := servertest.Start(t)
	admin := &api.AdminClient{BaseURL: s.URL, Token: s.AdminToken()}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	app, err := admin.CreateApp(ctx, "acme", "chat", "open")
	if err != nil || app.ClientSecret == "" {
		t.Fatalf("CreateApp = %+v, %v", app, err)
	}
	apps, err := admin.ListApps(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range apps {
		if a.ClientSecret != "" {
			t.Errorf("ListApps shows the secret of %s", a.Key)
		}
	}
	st, err := s.Store().GetApp(ctx, app.Key)
	if err != nil || strings.Contains(st.ClientSecret, app.ClientSecret) || !account.SecretHashed(st.ClientSecret) {
		t.Fatalf("stored secret %q, %v", st.ClientSecret, err)
	}
	// It still works, and a rotation replaces it.
	tokenWith := func(secret string) int {
		status, _, _ := from(s, "127.0.0.1").post(t, "/acme/chat/token", "",
			map[string]string{"grant_type": "client_credentials", "client_id": app.ClientID, "client_secret": secret})
		return status
	}
	if status := tokenWith(app.ClientSecret); status != http.StatusOK {
		t.Fatalf("client_credentials: HTTP %d", status)
	}
	rotated, err := admin.RotateSecret(ctx, app.Key)
	if err != nil || rotated.ClientSecret == "" || rotated.ClientSecret == app.ClientSecret {
		t.Fatalf("RotateSecret = %+v, %v", rotated, err)
	}
	if tokenWith(app.ClientSecret) != http.StatusUnauthorized || tokenWith(rotated.ClientSecret) != http.StatusOK {
		t.Fatal("after the rotation the old secret must fail and the new one work")
	}
}
