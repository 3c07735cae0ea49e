package api

import (
	"net/http"
	"time"

	"github.com/duet-rtc/duet/server/account"
	"github.com/duet-rtc/duet/server/store"
)

// listCalls: GET /{org}/{app}/calls?user=&since=&until=&cursor=&limit=, newest first.
// An app token sees every call of the app; a user token sees only its user's calls.
func (a *API) listCalls(w http.ResponseWriter, r *http.Request, start time.Time) error {
	app, err := a.pathApp(r)
	if err != nil {
		return err
	}
	tok, err := a.authAny(r, app)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	var f store.CallFilter
	if u := q.Get("user"); u != "" {
		if f.User, err = account.NormalizeUsername(u); err != nil {
			return err
		}
	}
	if tok.Kind == store.TokenUser {
		if f.User != "" && f.User != tok.Username {
			return errNotYours
		}
		f.User = tok.Username
	}
	p, err := readListPage(r)
	if err != nil {
		return err
	}
	f.Since, f.Until, f.Limit, f.Cursor = p.since, p.until, p.limit, p.cursor
	calls, next, err := a.st.ListCalls(r.Context(), app.Key, f)
	if err != nil {
		return listError(err)
	}
	out := make([]Call, len(calls))
	for i, c := range calls {
		out[i] = callOf(c)
	}
	resp := respond(a, r, app, "get", "/calls", start, out)
	resp.Cursor = next
	writeJSON(w, http.StatusOK, resp)
	return nil
}
