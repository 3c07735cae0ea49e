package cors

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestPolicy(t *testing.T) {
	p := Policy{Origins: []string{"https://app.example"}, PublicURL: "https://duet.example"}
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
	h := p.Handler(next)
	do := func(method, path, origin string, preflight bool) *http.Response {
		r := httptest.NewRequest(method, "http://duet.internal:8080"+path, nil)
		if origin != "" {
			r.Header.Set("Origin", origin)
		}
		if preflight {
			r.Header.Set("Access-Control-Request-Method", "POST")
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Result()
	}
	cases := []struct {
		name         string
		method, path string
		origin       string
		preflight    bool
		status       int
		allowOrigin  string
	}{
		{"an allowed origin's GET", "GET", "/sdk/duet.js", "https://app.example", false, 418, "https://app.example"},
		{"an allowed origin's preflight", "OPTIONS", "/demo/duet/token", "https://app.example", true, 204, "https://app.example"},
		{"the public URL's origin", "POST", "/demo/duet/token", "https://duet.example", false, 418, "https://duet.example"},
		{"the request's own host", "GET", "/sdk/duet.js", "http://duet.internal:8080", false, 418, "http://duet.internal:8080"},
		{"another origin's GET", "GET", "/sdk/duet.js", "https://evil.example", false, 418, ""},
		{"another origin's preflight", "OPTIONS", "/demo/duet/token", "https://evil.example", true, 403, ""},
		{"the admin API is never shared", "OPTIONS", "/admin/v1/apps", "https://app.example", true, 418, ""},
		{"nor the console", "GET", "/console/", "https://app.example", false, 418, ""},
		{"no origin", "GET", "/sdk/duet.js", "", false, 418, ""},
	}
	for _, c := range cases {
		resp := do(c.method, c.path, c.origin, c.preflight)
		if resp.StatusCode != c.status || resp.Header.Get("Access-Control-Allow-Origin") != c.allowOrigin {
			t.Errorf("%s: %d, allow-origin %q; want %d, %q", c.name, resp.StatusCode,
				resp.Header.Get("Access-Control-Allow-Origin"), c.status, c.allowOrigin)
		}
	}
	if resp := do("OPTIONS", "/demo/duet/token", "https://app.example", true); resp.Header.Get("Access-Control-Allow-Headers") != "Authorization, Content-Type" {
		t.Errorf("preflight headers %v", resp.Header)
	}
	any := Policy{Origins: []string{"*"}}
	if !any.Allows("https://whoever.example", "duet") {
		t.Error("* allows no origin")
	}
}
