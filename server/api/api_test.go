package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/duet-rtc/duet/internal/clock"
	"github.com/duet-rtc/duet/protocol"
	"github.com/duet-rtc/duet/server/account"
	"github.com/duet-rtc/duet/server/store"
	"github.com/duet-rtc/duet/server/store/sqlite"
)

const adminToken = "adm_test_token_0123456789"

var start = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

type tenv struct {
	t      *testing.T
	srv    *httptest.Server
	acct   *account.Service
	st     *sqlite.Store
	clk    *clock.Fake
	ctx    context.Context
	open   store.App // o#open, open registration
	closed store.App // o#closed, authorized registration
	other  store.App // o#other, open
}

// newEnv starts the API on a mux shaped like the server's, with three apps.
func newEnv(t *testing.T) *tenv {
	t.Helper()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "duet.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	clk := clock.NewFake(start)
	acct := account.New(st, clk)
	acct.Hash = account.HashParams{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
	e := &tenv{t: t, acct: acct, st: st, clk: clk, ctx: context.Background()}
	mux := http.NewServeMux()
	registerServerRoutes(mux)
	New(acct, st, adminToken, nil).Routes(mux)
	e.srv = httptest.NewServer(mux)
	t.Cleanup(e.srv.Close)
	e.open = e.mkApp("o", "open", store.RegistrationOpen)
	e.closed = e.mkApp("o", "closed", store.RegistrationAuthorized)
	e.other = e.mkApp("o", "other", store.RegistrationOpen)
	return e
}

// registerServerRoutes registers the patterns the server mounts next to the API.
func registerServerRoutes(mux *http.ServeMux) {
	for _, p := range []string{"GET /ws", "GET /healthz", "GET /metrics", "GET /{$}"} {
		mux.HandleFunc(p, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "server:"+p) })
	}
}

func (e *tenv) mkApp(org, name, reg string) store.App {
	e.t.Helper()
	a, err := e.acct.CreateApp(e.ctx, org, name, reg)
	if err != nil {
		e.t.Fatal(err)
	}
	return a
}

func (e *tenv) mkUsers(app store.App, names ...string) {
	e.t.Helper()
	var reqs []account.NewUser
	for _, n := range names {
		reqs = append(reqs, account.NewUser{Username: n, Password: "pw-" + n, Nickname: "Nick " + n})
	}
	if _, err := e.acct.CreateUsers(e.ctx, app.Key, reqs); err != nil {
		e.t.Fatal(err)
	}
}

func (e *tenv) userToken(app store.App, name string) string {
	e.t.Helper()
	iss, err := e.acct.PasswordToken(e.ctx, app.Key, name, "pw-"+name, 0)
	if err != nil {
		e.t.Fatal(err)
	}
	return iss.Token
}

func (e *tenv) appToken(app store.App, ttl time.Duration) string {
	e.t.Helper()
	iss, err := e.acct.AppToken(e.ctx, app.Key, app.ClientID, app.ClientSecret, ttl)
	if err != nil {
		e.t.Fatal(err)
	}
	return iss.Token
}

// do sends a request. body is sent as is if it is a string or []byte, as JSON otherwise,
// and not at all if nil.
func (e *tenv) do(method, path, token string, body any) (int, []byte) {
	e.t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	case []byte:
		r = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		r = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, r)
	if err != nil {
		e.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") && !json.Valid(data) {
		e.t.Errorf("%s %s: reply is not JSON: %q", method, path, data)
	}
	return resp.StatusCode, data
}

// ok sends a request that must succeed and decodes the reply into out.
func (e *tenv) ok(method, path, token string, body, out any) {
	e.t.Helper()
	status, data := e.do(method, path, token, body)
	if status != http.StatusOK {
		e.t.Fatalf("%s %s: HTTP %d %s", method, path, status, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			e.t.Fatalf("%s %s: %v in %s", method, path, err, data)
		}
	}
}

// fail sends a request that must fail with status and code (and name, unless "").
func (e *tenv) fail(what, method, path, token string, body any, status int, code protocol.ErrorCode, name string) Error {
	e.t.Helper()
	got, data := e.do(method, path, token, body)
	var eb Error
	if err := json.Unmarshal(data, &eb); err != nil {
		e.t.Errorf("%s: error body %q: %v", what, data, err)
		return eb
	}
	if got != status || eb.Code != code || name != "" && eb.Name != name {
		e.t.Errorf("%s: HTTP %d %s code %d (%s); want HTTP %d %s code %d", what, got, eb.Name, eb.Code, eb.Description, status, name, code)
	}
	if eb.Description == "" || eb.Exception == "" || eb.Timestamp == 0 {
		e.t.Errorf("%s: incomplete error body %s", what, data)
	}
	return eb
}

func TestRoutesCoexistWithServer(t *testing.T) {
	e := newEnv(t)
	for _, p := range []string{"/ws", "/healthz", "/metrics", "/"} {
		status, body := e.do(http.MethodGet, p, "", nil)
		if status != http.StatusOK || !strings.HasPrefix(string(body), "server:") {
			t.Errorf("GET %s reached %d %q; want the server's handler", p, status, body)
		}
	}
	// The API's own mux serves the same routes.
	api := New(e.acct, e.st, adminToken, nil)
	rec := httptest.NewRecorder()
	api.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/admin/v1/apps", nil))
	if rec.Code != http.StatusUnauthorized {
		t.Errorf("ServeHTTP without token: %d", rec.Code)
	}
}

func TestAppUUID(t *testing.T) {
	a, b := AppUUID("o#a"), AppUUID("O#A")
	if a != b || len(a) != 36 || a[14] != '5' || AppUUID("o#b") == a {
		t.Errorf("AppUUID: %q %q %q", a, b, AppUUID("o#b"))
	}
}
