// Package api serves duet's HTTP APIs: the Easemob-shaped REST API of each app
// (/{org}/{app}/users, /token, /calls, ...) and the admin API (/admin/v1/...), which the
// duet CLI reaches through AdminClient. See docs/REST.md.
//
// Every request body is size-limited and decoded strictly, every error is a JSON body
// carrying a protocol.ErrorCode with a matching HTTP status, and a token only ever acts in
// its own app.
package api

import (
	"crypto/sha256"
	"crypto/subtle"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/duet-rtc/duet/server/account"
	"github.com/duet-rtc/duet/server/store"
)

// MaxBodyBytes bounds every request body; larger ones get 413.
const MaxBodyBytes = 64 << 10

// API is the REST and admin API as HTTP handlers. Create it with New and mount it with
// Routes.
type API struct {
	acct   *account.Service
	st     store.Store
	admin  [sha256.Size]byte // hash of the admin token, for a constant-time compare
	noAdm  bool              // no admin token: the admin API is off
	log    *slog.Logger
	nowFn  func() time.Time
	routes []route
	mux    *http.ServeMux // for ServeHTTP

	// Limits throttles logins and registrations; set it before serving.
	Limits Limits

	quality QualityReports // set by QualityRoutes; nil: records without quality
}

type route struct {
	pattern string
	h       handlerFunc
}

// handlerFunc is a handler that reports failure by returning an error, which serve turns
// into the JSON error reply.
type handlerFunc func(w http.ResponseWriter, r *http.Request, start time.Time) error

// New returns the API over acct (apps, users, tokens) and st (call records). adminToken
// guards /admin/v1/; empty turns the admin API off (every admin request gets 403). A nil
// logger discards.
func New(acct *account.Service, st store.Store, adminToken string, logger *slog.Logger) *API {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	a := &API{acct: acct, st: st, log: logger, nowFn: time.Now,
		admin: sha256.Sum256([]byte(adminToken)), noAdm: adminToken == ""}
	a.routes = []route{
		{"POST /{org}/{app}/users", a.registerUsers},
		{"GET /{org}/{app}/users", a.listUsers},
		{"GET /{org}/{app}/users/{name}", a.getUser},
		{"DELETE /{org}/{app}/users/{name}", a.deleteUser},
		{"PUT /{org}/{app}/users/{name}/password", a.changePassword},
		{"POST /{org}/{app}/token", a.token},
		{"DELETE /{org}/{app}/token", a.logout},
		{"POST /{org}/{app}/logout", a.logout},
		{"GET /{org}/{app}/calls", a.listCalls},
		{"GET /{org}/{app}/calls/{callId}", a.getCall},

		{"POST /admin/v1/apps", a.adminCreateApp},
		{"GET /admin/v1/apps", a.adminListApps},
		{"GET /admin/v1/apps/{org}/{app}/users", a.adminListUsers},
		{"POST /admin/v1/apps/{org}/{app}/users", a.adminCreateUsers},
		{"DELETE /admin/v1/apps/{org}/{app}/users/{name}", a.adminDeleteUser},
		{"DELETE /admin/v1/apps/{org}/{app}/users/{name}/tokens", a.adminRevokeTokens},
		{"POST /admin/v1/apps/{org}/{app}/token", a.adminAppToken},
		{"POST /admin/v1/apps/{org}/{app}/secret", a.adminRotateSecret},
		{"PUT /admin/v1/apps/{org}/{app}/registration", a.adminSetRegistration},
	}
	a.mux = http.NewServeMux()
	a.Routes(a.mux)
	return a
}

// Routes registers every endpoint on mux with Go 1.22 method-and-path patterns. They do
// not overlap /ws, /healthz, /metrics or "GET /{$}"; a catch-all prefix pattern such as
// "/admin/" would conflict with them, so the server registers exact patterns only.
func (a *API) Routes(mux *http.ServeMux) {
	for _, rt := range a.routes {
		mux.Handle(rt.pattern, a.serve(rt.h))
	}
}

// ServeHTTP serves the API on its own mux (handy in tests and for mounting elsewhere).
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.mux.ServeHTTP(w, r) }

// serve adapts a handlerFunc: it writes the error reply and turns a panic into a 500 so
// that no input can take the server down.
func (a *API) serve(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := a.nowFn()
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p) //nolint:forbidigo // net/http's own way to abort a response: re-raised, not ours
				}
				a.log.Error("api: panic", "method", r.Method, "path", r.URL.Path, "panic", p)
				a.writeError(w, r, start, errInternal)
			}
		}()
		if err := h(w, r, start); err != nil {
			a.writeError(w, r, start, err)
		}
	})
}

// bearer returns the token of an "Authorization: Bearer <token>" header, or "".
func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	const prefix = "Bearer "
	if len(h) > len(prefix) && strings.EqualFold(h[:len(prefix)], prefix) {
		return strings.TrimSpace(h[len(prefix):])
	}
	return ""
}

// checkAdmin authorizes an admin request.
func (a *API) checkAdmin(r *http.Request) error {
	if a.noAdm {
		return errAdminOff
	}
	tok := bearer(r)
	if tok == "" {
		return errNoToken
	}
	sum := sha256.Sum256([]byte(tok))
	if subtle.ConstantTimeCompare(sum[:], a.admin[:]) != 1 {
		return errBadAdminToken
	}
	return nil
}

func (a *API) millis(start time.Time) (timestamp, duration int64) {
	now := a.nowFn()
	return now.UnixMilli(), now.Sub(start).Milliseconds()
}
