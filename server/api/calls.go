package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/duet-rtc/duet/protocol"
	"github.com/duet-rtc/duet/server/account"
	"github.com/duet-rtc/duet/server/quality"
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
	out, err := a.callsWithQuality(r.Context(), app.Key, calls)
	if err != nil {
		return err
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
	out, err := a.callsWithQuality(r.Context(), app.Key, []store.CallRecord{c})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, respond(a, r, app, "get", "/calls/"+id, start, out))
	return nil
}

// callsWithQuality is the records of calls with their parties' quality: summed up from
// their samples, or kept once final (quality.Service.PartiesOf).
func (a *API) callsWithQuality(ctx context.Context, app string, calls []store.CallRecord) ([]Call, error) {
	out := make([]Call, len(calls))
	refs := make([]quality.CallRef, len(calls))
	for i, c := range calls {
		out[i] = callOf(c)
		refs[i] = quality.CallRef{ID: c.ID, Caller: c.Caller, Callee: c.Callee, EndedAt: out[i].EndedAt}
	}
	if a.quality == nil || len(calls) == 0 {
		return out, nil
	}
	qs, err := a.quality.PartiesOf(ctx, app, refs)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", protocol.NewError(protocol.CodeDatabase, "database error"), err)
	}
	for i := range out {
		out[i].Quality = qs[i]
	}
	return out, nil
}
