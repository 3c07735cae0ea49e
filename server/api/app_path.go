package api

import (
	"bytes"
	"net/http"
	"strconv"
	"time"

	"github.com/duet-rtc/duet/server/account"
	"github.com/duet-rtc/duet/server/store"
)

// pathApp resolves the {org}/{app} of the path to an existing app (404 otherwise).
func (a *API) pathApp(r *http.Request) (store.App, error) {
	key, err := account.AppKey(r.PathValue("org"), r.PathValue("app"))
	if err != nil {
		return store.App{}, err
	}
	return a.acct.GetApp(r.Context(), key)
}

// authAny authenticates the bearer token as any token of app.
func (a *API) authAny(r *http.Request, app store.App) (store.Token, error) {
	tok := bearer(r)
	if tok == "" {
		return store.Token{}, errNoToken
	}
	return a.acct.AuthenticateFor(r.Context(), app.Key, tok)
}

// authApp authenticates the bearer token as an app token of app.
func (a *API) authApp(r *http.Request, app store.App) (store.Token, error) {
	tok := bearer(r)
	if tok == "" {
		return store.Token{}, errNoToken
	}
	return a.acct.AuthenticateApp(r.Context(), app.Key, tok)
}

// authAppOrSelf authenticates an app token of app, or a user token of the user name
// (already normalized); a user token of someone else gets 403.
func (a *API) authAppOrSelf(r *http.Request, app store.App, name string) error {
	t, err := a.authAny(r, app)
	if err != nil {
		return err
	}
	if t.Kind == store.TokenApp || t.Kind == store.TokenUser && t.Username == name {
		return nil
	}
	return errNotYours
}

// respond builds the Easemob envelope for a reply about app.
func respond[T any](a *API, r *http.Request, app store.App, action, path string, start time.Time, entities []T) Response[T] {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if entities == nil {
		entities = []T{}
	}
	resp := Response[T]{
		Action: action, Path: path, Entities: entities, Count: len(entities),
		Application: AppUUID(app.Key), Organization: app.Org, ApplicationName: app.Name,
		URI: scheme + "://" + r.Host + "/" + app.Org + "/" + app.Name + path,
	}
	resp.Timestamp, resp.Duration = a.millis(start)
	return resp
}

// parseNewUsers reads a register body: one user object or an array of them. Unknown
// fields are ignored, as Easemob does.
func parseNewUsers(w http.ResponseWriter, r *http.Request) ([]account.NewUser, error) {
	b, err := readBody(w, r)
	if err != nil {
		return nil, err
	}
	var list []NewUser
	if t := bytes.TrimLeft(b, " \t\r\n"); len(t) > 0 && t[0] == '[' {
		err = decodeJSON(b, &list, false)
	} else {
		var one NewUser
		err = decodeJSON(b, &one, false)
		list = []NewUser{one}
	}
	if err != nil {
		return nil, err
	}
	reqs := make([]account.NewUser, len(list))
	for i, u := range list {
		reqs[i] = account.NewUser{Username: u.Username, Password: u.Password, Nickname: u.Nickname}
	}
	return reqs, nil
}

// queryLimit parses the limit parameter: absent means def; otherwise 1-100.
func queryLimit(r *http.Request, def int) (int, error) {
	s := r.URL.Query().Get("limit")
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > account.MaxListLimit {
		return 0, badParam("limit", "must be an integer from 1 to %d", account.MaxListLimit)
	}
	return n, nil
}

// queryMillis parses a unix-milliseconds parameter; absent means the zero time.
func queryMillis(r *http.Request, name string) (time.Time, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return time.Time{}, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > 1<<53 {
		return time.Time{}, badParam(name, "must be unix milliseconds")
	}
	if n == 0 {
		return time.Time{}, nil
	}
	return time.UnixMilli(n), nil
}
