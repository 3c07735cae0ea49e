// Package web serves duet's browser side: the browser SDK (/sdk/*.js, ES modules, no build
// step), the demo app (/ and /demo/*) and the operator's console (/console/), all embedded
// in the binary, plus two small
// JSON endpoints the demo needs: /demo/config.json (the demo app key) and /demo/users (the
// app's users and their presence, for a logged-in user, searched by prefix and paged). The server mounts Handler at
// "GET /"; its own routes (/ws, REST, /healthz, /metrics) are more specific and win.
package web

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"io/fs"
	"net/http"
	"strconv"
	"strings"

	"github.com/duet-rtc/duet/protocol"
)

//go:embed demo sdk console
var files embed.FS

// User is one entry of /demo/users.
type User struct {
	Username string `json:"username"`
	Online   bool   `json:"online"`
}

// Query selects a page of /demo/users: ?q=&cursor=&limit= (1-100, default 50).
type Query struct {
	Prefix, Cursor string
	Limit          int
}

// Config is what the server tells the web app.
type Config struct {
	// AppKey is the demo app ("org#app"); "" when the server has none, and the demo says so.
	AppKey string
	// ServerURL is where the browser reaches the server; "" means the page's own origin,
	// which is right unless a proxy serves the page elsewhere.
	ServerURL string
	// ListUsers returns the page of the demo app's users whose names start with q and sort
	// after cursor, with their presence, and the cursor of the next page ("" on the last),
	// for the holder of a user token of that app; it fails with a protocol error
	// (CodeInvalidToken...) otherwise. Nil turns /demo/users off (404).
	ListUsers func(ctx context.Context, token string, q Query) ([]User, string, error)
}

// securityHeaders keep the pages to their own scripts; media and WebSockets may go to any
// server the app is configured for.
var securityHeaders = map[string]string{
	"X-Content-Type-Options": "nosniff",
	"Referrer-Policy":        "no-referrer",
	"Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; " +
		"media-src 'self' blob: mediastream:; connect-src 'self' ws: wss: http: https:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
}

// Handler serves the web app with cfg.
func Handler(cfg Config) http.Handler {
	static := http.FileServerFS(files)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		r2 := r.Clone(r.Context())
		r2.URL.Path = "/demo/"
		static.ServeHTTP(w, r2)
	})
	mux.HandleFunc("GET /demo/config.json", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"appKey": cfg.AppKey, "serverURL": cfg.ServerURL})
	})
	mux.HandleFunc("GET /demo/users", func(w http.ResponseWriter, r *http.Request) { listUsers(w, r, cfg) })
	serveFiles := func(w http.ResponseWriter, r *http.Request) {
		// No directory listings: only files.
		if strings.HasSuffix(r.URL.Path, "/") {
			http.NotFound(w, r)
			return
		}
		if _, err := fs.Stat(files, strings.TrimPrefix(r.URL.Path, "/")); err != nil {
			http.NotFound(w, r)
			return
		}
		static.ServeHTTP(w, r)
	}
	mux.HandleFunc("GET /console/{$}", static.ServeHTTP) // index.html
	mux.HandleFunc("GET /console/", serveFiles)
	mux.HandleFunc("GET /demo/", serveFiles)
	mux.HandleFunc("GET /sdk/", serveFiles)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for k, v := range securityHeaders {
			w.Header().Set(k, v)
		}
		// The files change with the binary, which has no build id to put in names; the
		// browser revalidates on each load (cheap: a few small files).
		w.Header().Set("Cache-Control", "no-cache")
		mux.ServeHTTP(w, r)
	})
}

// listUsers: GET /demo/users with "Authorization: Bearer <user token>" (or ?token=).
func listUsers(w http.ResponseWriter, r *http.Request, cfg Config) {
	if cfg.ListUsers == nil {
		http.NotFound(w, r)
		return
	}
	token := r.URL.Query().Get("token")
	if h := r.Header.Get("Authorization"); len(h) > 7 && strings.EqualFold(h[:7], "Bearer ") {
		token = strings.TrimSpace(h[7:])
	}
	q := Query{Prefix: strings.ToLower(r.URL.Query().Get("q")), Cursor: strings.ToLower(r.URL.Query().Get("cursor")), Limit: 50}
	if l := r.URL.Query().Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 100 {
			writeJSON(w, http.StatusBadRequest, map[string]any{"error": "limit must be 1-100", "code": protocol.CodeUserIllegalArgument})
			return
		}
		q.Limit = n
	}
	if len(q.Prefix) > protocol.MaxUsernameBytes || len(q.Cursor) > protocol.MaxUsernameBytes {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "q and cursor are at most 64 bytes", "code": protocol.CodeUserIllegalArgument})
		return
	}
	users, next, err := cfg.ListUsers(r.Context(), token, q)
	if err != nil {
		status := http.StatusInternalServerError
		var pe *protocol.Error
		if errors.As(err, &pe) {
			switch pe.Code {
			case protocol.CodeInvalidToken, protocol.CodeUserAuthFailed:
				status = http.StatusUnauthorized
			case protocol.CodeInvalidAppKey, protocol.CodeNotFound:
				status = http.StatusNotFound
			}
		}
		msg := "cannot list users"
		if status != http.StatusInternalServerError {
			msg = pe.Message
		}
		writeJSON(w, status, map[string]any{"error": msg, "code": protocol.CodeOf(err)})
		return
	}
	if users == nil {
		users = []User{}
	}
	out := map[string]any{"users": users}
	if next != "" {
		out["cursor"] = next
	}
	writeJSON(w, http.StatusOK, out)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
