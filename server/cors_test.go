package server_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/duet-rtc/duet/server"
	"github.com/duet-rtc/duet/server/servertest"
)

// A page of an allowed origin may load the SDK and call the client REST API (preflight
// included); another origin gets no CORS headers; the admin API is never shared.
func TestAllowedOrigins(t *testing.T) {
	srv := servertest.Start(t, func(c *server.Config) { c.AllowedOrigins = []string{"https://app.example"} })
	do := func(method, path, origin string, preflight bool) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, nil)
		req.Header.Set("Origin", origin)
		if preflight {
			req.Header.Set("Access-Control-Request-Method", "POST")
			req.Header.Set("Access-Control-Request-Headers", "content-type")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	token := "/" + strings.Replace(srv.AppKey, "#", "/", 1) + "/token"
	if r := do(http.MethodGet, "/sdk/duet.js", "https://app.example", false); r.StatusCode != 200 || r.Header.Get("Access-Control-Allow-Origin") != "https://app.example" {
		t.Fatalf("SDK for an allowed origin: %d %q", r.StatusCode, r.Header.Get("Access-Control-Allow-Origin"))
	}
	if r := do(http.MethodOptions, token, "https://app.example", true); r.StatusCode != http.StatusNoContent || r.Header.Get("Access-Control-Allow-Origin") != "https://app.example" {
		t.Fatalf("token preflight: %d %v", r.StatusCode, r.Header)
	}
	if r := do(http.MethodGet, "/sdk/duet.js", "https://other.example", false); r.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("another origin was allowed: %v", r.Header)
	}
	if r := do(http.MethodOptions, "/admin/v1/apps", "https://app.example", true); r.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("the admin API was shared: %v", r.Header)
	}
}
