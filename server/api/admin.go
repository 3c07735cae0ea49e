package api

import (
	"bytes"
	"net/http"
	"time"

	"github.com/duet-rtc/duet/protocol"
	"github.com/duet-rtc/duet/server/store"
)

// The admin API: every request carries "Authorization: Bearer <admin token>".

// adminUser is adminApp with the user of the path's {name}.
func (a *API) adminUser(r *http.Request) (store.App, store.User, error) {
	app, err := a.adminApp(r)
	if err != nil {
		return store.App{}, store.User{}, err
	}
	u, err := a.acct.GetUser(r.Context(), app.Key, r.PathValue("name"))
	return app, u, err
}

// adminApp authorizes an admin request and resolves its {org}/{app}.
func (a *API) adminApp(r *http.Request) (store.App, error) {
	if err := a.checkAdmin(r); err != nil {
		return store.App{}, err
	}
	return a.pathApp(r)
}

// adminCreateApp: POST /admin/v1/apps {org,name,registration} → the app with credentials.
func (a *API) adminCreateApp(w http.ResponseWriter, r *http.Request, start time.Time) error {
	if err := a.checkAdmin(r); err != nil {
		return err
	}
	var req NewApp
	if err := readJSON(w, r, &req); err != nil {
		return err
	}
	app, err := a.acct.CreateApp(r.Context(), req.Org, req.Name, req.Registration)
	if protocol.CodeOf(err) == protocol.CodeInvalidAppKey { // a bad name here is a bad argument
		return withStatus(err, http.StatusBadRequest, nameIllegalArgument)
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, respond(a, r, app, "post", "/apps", start, []App{appOf(app, true)}))
	return nil
}

// adminListApps: GET /admin/v1/apps.
func (a *API) adminListApps(w http.ResponseWriter, r *http.Request, start time.Time) error {
	if err := a.checkAdmin(r); err != nil {
		return err
	}
	apps, err := a.acct.ListApps(r.Context())
	if err != nil {
		return err
	}
	out := make([]App, len(apps))
	for i, app := range apps {
		out[i] = appOf(app, false)
	}
	resp := Response[App]{Action: "get", Path: "/apps", Entities: out, Count: len(out)}
	resp.Timestamp, resp.Duration = a.millis(start)
	writeJSON(w, http.StatusOK, resp)
	return nil
}

// adminListUsers: GET /admin/v1/apps/{org}/{app}/users?limit=&cursor=.
func (a *API) adminListUsers(w http.ResponseWriter, r *http.Request, start time.Time) error {
	app, err := a.adminApp(r)
	if err != nil {
		return err
	}
	return a.writeUserPage(w, r, start, app.Key)
}

// adminCreateUsers: POST /admin/v1/apps/{org}/{app}/users, one user or an array, whatever
// the app's registration mode.
func (a *API) adminCreateUsers(w http.ResponseWriter, r *http.Request, start time.Time) error {
	app, err := a.adminApp(r)
	if err != nil {
		return err
	}
	reqs, err := parseNewUsers(w, r)
	if err != nil {
		return err
	}
	users, err := a.acct.CreateUsers(r.Context(), app.Key, reqs)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, respond(a, r, app, "post", "/users", start, usersOf(users)))
	return nil
}

// adminDeleteUser: DELETE /admin/v1/apps/{org}/{app}/users/{name}.
func (a *API) adminDeleteUser(w http.ResponseWriter, r *http.Request, start time.Time) error {
	app, err := a.adminApp(r)
	if err != nil {
		return err
	}
	return a.deleteAndReply(w, r, start, app.Key)
}

// adminRotateSecret: POST /admin/v1/apps/{org}/{app}/secret gives the app a new client
// secret, shown in this reply only.
func (a *API) adminRotateSecret(w http.ResponseWriter, r *http.Request, start time.Time) error {
	app, err := a.adminApp(r)
	if err != nil {
		return err
	}
	if app, err = a.acct.RotateClientSecret(r.Context(), app.Key); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, respond(a, r, app, "post", "/secret", start, []App{appOf(app, true)}))
	return nil
}

// registrationRequest is the body of PUT /admin/v1/apps/{org}/{app}/registration.
type registrationRequest struct {
	Registration string `json:"registration"` // "open" or "authorized"
}

// adminSetRegistration: PUT /admin/v1/apps/{org}/{app}/registration {registration} changes
// who may register users: anyone ("open") or holders of an app token ("authorized").
func (a *API) adminSetRegistration(w http.ResponseWriter, r *http.Request, start time.Time) error {
	app, err := a.adminApp(r)
	if err != nil {
		return err
	}
	var req registrationRequest
	if err := readJSON(w, r, &req); err != nil {
		return err
	}
	if app, err = a.acct.SetRegistration(r.Context(), app.Key, req.Registration); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, respond(a, r, app, "put", "/registration", start, []App{appOf(app, false)}))
	return nil
}

// adminRevokeTokens: DELETE /admin/v1/apps/{org}/{app}/users/{name}/tokens revokes every
// token of the user and closes its devices' connections (kicked, BeenKicked): an operator's
// kick of a stolen or abusive login.
func (a *API) adminRevokeTokens(w http.ResponseWriter, r *http.Request, start time.Time) error {
	app, u, err := a.adminUser(r)
	if err != nil {
		return err
	}
	if err := a.acct.RevokeUserTokens(r.Context(), app.Key, u.Username); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, respond(a, r, app, "delete", "/users/"+u.Username+"/tokens", start, []User{userOf(u)}))
	return nil
}

// appTokenRequest is the optional body of POST /admin/v1/apps/{org}/{app}/token.
type appTokenRequest struct {
	TTL int64 `json:"ttl"` // seconds; 0: 60 days
}

// adminAppToken: POST /admin/v1/apps/{org}/{app}/token [{ttl}] → a fresh app token.
func (a *API) adminAppToken(w http.ResponseWriter, r *http.Request, start time.Time) error {
	app, err := a.adminApp(r)
	if err != nil {
		return err
	}
	b, err := readBody(w, r)
	if err != nil {
		return err
	}
	var req appTokenRequest
	if len(bytes.TrimSpace(b)) > 0 {
		if err := decodeJSON(b, &req, true); err != nil {
			return err
		}
	}
	ttl, err := ttlOf(req.TTL)
	if err != nil {
		return err
	}
	iss, err := a.acct.IssueAppToken(r.Context(), app.Key, ttl)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, tokenResponse(iss))
	return nil
}
