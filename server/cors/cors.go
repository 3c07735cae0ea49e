// Package cors lets pages of other origins use duet's browser SDK and client REST API:
// `import … from 'https://duet.example/sdk/duet.js'` and the SDK's token and registration
// requests, from an app's own web site. It answers preflights and marks the responses of
// allowed origins; the operator's parts (/admin/, /console/, /metrics) are never shared.
package cors

import (
	"net/http"
	"net/url"
	"strings"
)

// Policy says which origins may use the server from their pages.
type Policy struct {
	// Origins are the allowed origins ("https://app.example"), or "*" for any.
	Origins []string
	// PublicURL is the server's own URL, whose origin is always allowed.
	PublicURL string
}

// Allows reports whether pages of origin may use the server. A request's own origin (the
// page came from this server) is allowed whatever the policy.
func (p Policy) Allows(origin, host string) bool {
	if origin == "" {
		return false
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	if u.Host == host {
		return true
	}
	if pu, err := url.Parse(p.PublicURL); err == nil && pu.Scheme == u.Scheme && pu.Host == u.Host {
		return true
	}
	for _, o := range p.Origins {
		if o == "*" || strings.EqualFold(strings.TrimRight(o, "/"), origin) {
			return true
		}
	}
	return false
}

// private are the paths never shared with other origins.
var private = []string{"/admin/", "/console/", "/metrics"}

// Handler marks the responses of next for allowed origins and answers their preflights
// (OPTIONS with Access-Control-Request-Method) itself, 204; a preflight from an origin that
// is not allowed gets 403.
func (p Policy) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin == "" || isPrivate(r.URL.Path) {
			next.ServeHTTP(w, r)
			return
		}
		preflight := r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != ""
		h := w.Header()
		h.Add("Vary", "Origin")
		if !p.Allows(origin, r.Host) {
			if preflight {
				http.Error(w, "origin not allowed (duet server --allowed-origins)", http.StatusForbidden)
				return
			}
			next.ServeHTTP(w, r) // the browser keeps the response from the page
			return
		}
		h.Set("Access-Control-Allow-Origin", origin)
		h.Set("Access-Control-Expose-Headers", "Retry-After")
		if preflight {
			h.Set("Access-Control-Allow-Methods", "GET, POST, PUT, DELETE")
			h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
			h.Set("Access-Control-Max-Age", "600")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func isPrivate(path string) bool {
	for _, p := range private {
		if strings.HasPrefix(path, p) {
			return true
		}
	}
	return false
}
