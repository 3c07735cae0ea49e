package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/duet-rtc/duet/protocol"
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
		if out[i], err = a.callWithQuality(r.Context(), c); err != nil {
			return err
		}
	}
	resp := respond(a, r, app, "get", "/calls", start, out)
	resp.Cursor = next
	writeJSON(w, http.StatusOK, resp)
	return nil
}

// getCall: GET /{org}/{app}/calls/{callId}, one call record; an app token, or a user token
// of one of the call's parties.
func (a *API) getCall(w http.ResponseWriter, r *http.Request, start time.Time) error {
	app, err := a.pathApp(r)
	if err != nil {
		return err
	}
	tok, err := a.authAny(r, app)
	if err != nil {
		return err
	}
	id := r.PathValue("callId")
	c, err := a.st.GetCall(r.Context(), app.Key, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && tok.Kind == store.TokenUser &&
		tok.Username != c.Caller && tok.Username != c.Callee) {
		return newHTTPError(http.StatusNotFound, nameNotFound, protocol.CodeNotFound, "no such call")
	} else if err != nil {
		return fmt.Errorf("%w: %w", protocol.NewError(protocol.CodeDatabase, "database error"), err)
	}
	out, err := a.callWithQuality(r.Context(), c)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, respond(a, r, app, "get", "/calls/"+id, start, []Call{out}))
	return nil
}

// callWithQuality is the record of c with its parties' quality, read from their samples.
func (a *API) callWithQuality(ctx context.Context, c store.CallRecord) (Call, error) {
	out := callOf(c)
	if a.quality == nil {
		return out, nil
	}
	q, err := a.quality.Parties(ctx, c.App, c.ID, c.Caller, c.Callee, out.EndedAt)
	if err != nil {
		return out, fmt.Errorf("%w: %w", protocol.NewError(protocol.CodeDatabase, "database error"), err)
	}
	out.Quality = q
	return out, nil
}
