package api

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/duet-rtc/duet/protocol"
	"github.com/duet-rtc/duet/server/account"
	"github.com/duet-rtc/duet/server/store"
)

// maxCursorLen bounds the cursor parameter.
const maxCursorLen = 512

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
	if f.Since, err = queryMillis(r, "since"); err != nil {
		return err
	}
	if f.Until, err = queryMillis(r, "until"); err != nil {
		return err
	}
	if f.Limit, err = queryLimit(r, 20); err != nil {
		return err
	}
	if f.Cursor = q.Get("cursor"); len(f.Cursor) > maxCursorLen {
		return badParam("cursor", "invalid")
	}
	calls, next, err := a.st.ListCalls(r.Context(), app.Key, f)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return badParam("cursor", "invalid")
	case err != nil:
		return fmt.Errorf("%w: %w", protocol.NewError(protocol.CodeDatabase, "database error"), err)
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
