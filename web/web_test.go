package web

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/duet-rtc/duet/protocol"
)

func get(t *testing.T, h http.Handler, path, auth string) *http.Response {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	if auth != "" {
		req.Header.Set("Authorization", "Bearer "+auth)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

func body(t *testing.T, r *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestHandlerServesFiles(t *testing.T) {
	h := Handler(Config{AppKey: "demo#duet"})
	for _, tc := range []struct{ path, ctype, contains string }{
		{"/", "text/html", `<script type="module" src="/demo/app.js">`},
		{"/demo/app.js", "text/javascript", "from '/sdk/duet.js'"},
		{"/demo/style.css", "text/css", ".screen"},
		{"/sdk/duet.js", "text/javascript", "export class DuetClient"},
		{"/sdk/call_manager.js", "text/javascript", "export class CallManager"},
	} {
		r := get(t, h, tc.path, "")
		b := body(t, r)
		if r.StatusCode != http.StatusOK || !strings.HasPrefix(r.Header.Get("Content-Type"), tc.ctype) || !strings.Contains(b, tc.contains) {
			t.Errorf("GET %s: %d %q, body has %q: %v", tc.path, r.StatusCode, r.Header.Get("Content-Type"), tc.contains, strings.Contains(b, tc.contains))
		}
		if r.Header.Get("X-Content-Type-Options") != "nosniff" || r.Header.Get("Content-Security-Policy") == "" {
			t.Errorf("GET %s: security headers missing: %v", tc.path, r.Header)
		}
	}
}

func TestHandlerConfig(t *testing.T) {
	r := get(t, Handler(Config{AppKey: "demo#duet", ServerURL: "https://calls.example"}), "/demo/config.json", "")
	var cfg struct{ AppKey, ServerURL string }
	if err := json.NewDecoder(r.Body).Decode(&cfg); err != nil || r.StatusCode != http.StatusOK {
		t.Fatalf("config.json: %d %v", r.StatusCode, err)
	}
	if cfg.AppKey != "demo#duet" || cfg.ServerURL != "https://calls.example" {
		t.Errorf("config.json = %+v", cfg)
	}
}

func TestHandlerNotFound(t *testing.T) {
	h := Handler(Config{})
	for _, path := range []string{"/nope", "/demo/", "/sdk/", "/demo/missing.js", "/web.go", "/web_test.go", "/demo/users"} {
		if r := get(t, h, path, ""); r.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", path, r.StatusCode)
		}
	}
	req := httptest.NewRequest(http.MethodPost, "/demo/config.json", nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST config.json: %d, want 405", rec.Code)
	}
}

func TestHandlerUsers(t *testing.T) {
	h := Handler(Config{AppKey: "demo#duet", ListUsers: func(_ context.Context, token string, q Query) ([]User, string, error) {
		switch token {
		case "good":
			if q.Prefix == "al" && q.Cursor == "a" && q.Limit == 2 {
				return []User{{"alice", true}}, "alice", nil
			}
			return []User{{"alice", true}, {"bob", false}}, "", nil
		case "empty":
			return nil, "", nil
		case "broken":
			return nil, "", io.ErrUnexpectedEOF
		}
		return nil, "", protocol.NewError(protocol.CodeInvalidToken, "unknown token")
	}})
	if b := body(t, get(t, h, "/demo/users?q=AL&cursor=a&limit=2", "good")); strings.TrimSpace(b) != `{"cursor":"alice","users":[{"username":"alice","online":true}]}` {
		t.Errorf("a searched page: %s", b)
	}
	if r := get(t, h, "/demo/users?limit=101", "good"); r.StatusCode != http.StatusBadRequest {
		t.Errorf("limit 101: %d; want 400", r.StatusCode)
	}
	r := get(t, h, "/demo/users", "good")
	if b := body(t, r); r.StatusCode != http.StatusOK || strings.TrimSpace(b) != `{"users":[{"username":"alice","online":true},{"username":"bob","online":false}]}` {
		t.Errorf("users: %d %s", r.StatusCode, b)
	}
	if r := get(t, h, "/demo/users?token=good", ""); r.StatusCode != http.StatusOK {
		t.Errorf("users with ?token=: %d", r.StatusCode)
	}
	if b := body(t, get(t, h, "/demo/users", "empty")); strings.TrimSpace(b) != `{"users":[]}` {
		t.Errorf("no users: %s", b)
	}
	r = get(t, h, "/demo/users", "bad")
	if b := body(t, r); r.StatusCode != http.StatusUnauthorized || !strings.Contains(b, `"code":104`) {
		t.Errorf("bad token: %d %s", r.StatusCode, b)
	}
	r = get(t, h, "/demo/users", "broken")
	if b := body(t, r); r.StatusCode != http.StatusInternalServerError || strings.Contains(b, "EOF") {
		t.Errorf("store failure: %d %s (must not leak the cause)", r.StatusCode, b)
	}
}

// The console is served at /console/ with its modules, under the same content policy.
func TestHandlerServesConsole(t *testing.T) {
	h := Handler(Config{AppKey: "demo#duet"})
	for path, want := range map[string]string{
		"/console/":           "duet console",
		"/console/console.js": "hashchange",
		"/console/api.js":     "/admin/v1",
		"/console/chart.js":   "export function paths",
		"/console/records.js": "service-forbidden",
	} {
		resp := get(t, h, path, "")
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), want) {
			t.Errorf("%s: %d, body lacks %q", path, resp.StatusCode, want)
		}
		if !strings.Contains(resp.Header.Get("Content-Security-Policy"), "script-src 'self'") {
			t.Errorf("%s without the content policy", path)
		}
	}
}
