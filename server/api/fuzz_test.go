package api

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/duet-rtc/duet/internal/clock"
	"github.com/duet-rtc/duet/server/account"
	"github.com/duet-rtc/duet/server/store/sqlite"
)

// FuzzAPI sends arbitrary requests: the API must answer every one with a JSON reply and
// never with a 500 or a panic.
func FuzzAPI(f *testing.F) {
	for _, s := range []struct{ method, path, token, body string }{
		{"POST", "/o/open/users", "", `{"username":"a","password":"b"}`},
		{"POST", "/o/open/users", "", `[{"username":"a","password":"b"},{"username":"A"}]`},
		{"POST", "/o/closed/users", "duet_x", `[]`},
		{"POST", "/o/open/token", "", `{"grant_type":"password","username":"a","password":"b","ttl":1e99}`},
		{"POST", "/o/open/token", "", `{"grant_type":"client_credentials","client_id":"\u0000"}`},
		{"GET", "/o/open/users/a", adminToken, ``},
		{"GET", "/o/open/calls?since=1&until=0&cursor=YzE6MTox&limit=5&user=a", "", ``},
		{"PUT", "/o/open/users/a/password", "", `{"newpassword":null}`},
		{"DELETE", "/o/open/token", "", ``},
		{"POST", "/admin/v1/apps", adminToken, `{"org":"x","name":"y"}`},
		{"POST", "/admin/v1/apps/o/open/users", adminToken, `{"username":"z","password":"p"}`},
		{"POST", "/admin/v1/apps/o/open/token", adminToken, `{"ttl":-0}`},
		{"DELETE", "/admin/v1/apps/o/open/users/%00", adminToken, ``},
	} {
		f.Add(s.method, s.path, s.token, s.body)
	}
	st, err := sqlite.Open(filepath.Join(f.TempDir(), "duet.db"))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { st.Close() })
	acct := account.New(st, clock.Real{})
	acct.Hash = account.HashParams{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
	if _, err := acct.CreateApp(f.Context(), "o", "open", "open"); err != nil {
		f.Fatal(err)
	}
	if _, err := acct.CreateApp(f.Context(), "o", "closed", "authorized"); err != nil {
		f.Fatal(err)
	}
	api := New(acct, st, adminToken, nil)
	methods := map[string]bool{"GET": true, "POST": true, "PUT": true, "DELETE": true}

	f.Fuzz(func(t *testing.T, method, path, token, body string) {
		if !methods[method] || !strings.HasPrefix(path, "/") {
			return
		}
		req, err := http.NewRequest(method, "http://duet.test"+path, strings.NewReader(body))
		if err != nil {
			return
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		rec := httptest.NewRecorder()
		api.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %s: HTTP %d %s", method, path, rec.Code, rec.Body)
		}
		if strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") && !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("%s %s: invalid JSON %q", method, path, rec.Body)
		}
	})
}
