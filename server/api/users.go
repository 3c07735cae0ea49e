package api

import (
	"net/http"
	"time"

	"github.com/duet-rtc/duet/server/account"
)

// registerUsers: POST /{org}/{app}/users, one user or an array of at most 60. Open apps
// need no token; authorized apps need their app token.
func (a *API) registerUsers(w http.ResponseWriter, r *http.Request, start time.Time) error {
	app, err := a.pathApp(r)
	if err != nil {
		return err
	}
	reqs, err := parseNewUsers(w, r)
	if err != nil {
		return err
	}
	if err := a.trySignup(w, r, app.Key, len(reqs)); err != nil {
		return err
	}
	users, err := a.acct.Register(r.Context(), app.Key, reqs, bearer(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, respond(a, r, app, "post", "/users", start, usersOf(users)))
	return nil
}

// listUsers: GET /{org}/{app}/users?limit=&cursor=, app token.
func (a *API) listUsers(w http.ResponseWriter, r *http.Request, start time.Time) error {
	app, err := a.pathApp(r)
	if err != nil {
		return err
	}
	if _, err := a.authApp(r, app); err != nil {
		return err
	}
	return a.writeUserPage(w, r, start, app.Key)
}

func (a *API) writeUserPage(w http.ResponseWriter, r *http.Request, start time.Time, appKey string) error {
	limit, err := queryLimit(r, account.DefaultListLimit)
	if err != nil {
		return err
	}
	app, err := a.acct.GetApp(r.Context(), appKey)
	if err != nil {
		return err
	}
	users, next, err := a.acct.ListUsers(r.Context(), app.Key, r.URL.Query().Get("cursor"), limit)
	if err != nil {
		return err
	}
	resp := respond(a, r, app, "get", "/users", start, usersOf(users))
	resp.Cursor = next
	writeJSON(w, http.StatusOK, resp)
	return nil
}

// getUser: GET /{org}/{app}/users/{name}, app token or the user's own token.
func (a *API) getUser(w http.ResponseWriter, r *http.Request, start time.Time) error {
	app, err := a.pathApp(r)
	if err != nil {
		return err
	}
	name, err := account.NormalizeUsername(r.PathValue("name"))
	if err != nil {
		return err
	}
	if err := a.authAppOrSelf(r, app, name); err != nil {
		return err
	}
	u, err := a.acct.GetUser(r.Context(), app.Key, name)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, respond(a, r, app, "get", "/users", start, []User{userOf(u)}))
	return nil
}

// deleteUser: DELETE /{org}/{app}/users/{name}, app token.
func (a *API) deleteUser(w http.ResponseWriter, r *http.Request, start time.Time) error {
	app, err := a.pathApp(r)
	if err != nil {
		return err
	}
	if _, err := a.authApp(r, app); err != nil {
		return err
	}
	return a.deleteAndReply(w, r, start, app.Key)
}

func (a *API) deleteAndReply(w http.ResponseWriter, r *http.Request, start time.Time, appKey string) error {
	app, err := a.acct.GetApp(r.Context(), appKey)
	if err != nil {
		return err
	}
	u, err := a.acct.GetUser(r.Context(), app.Key, r.PathValue("name"))
	if err != nil {
		return err
	}
	if err := a.acct.DeleteUser(r.Context(), app.Key, u.Username); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, respond(a, r, app, "delete", "/users", start, []User{userOf(u)}))
	return nil
}

// passwordChange is the body of PUT /{org}/{app}/users/{name}/password.
type passwordChange struct {
	NewPassword string `json:"newpassword"`
}

// changePassword: PUT /{org}/{app}/users/{name}/password {newpassword}, app token or the
// user's own token. Every token of the user is revoked, the one used here included.
func (a *API) changePassword(w http.ResponseWriter, r *http.Request, start time.Time) error {
	app, err := a.pathApp(r)
	if err != nil {
		return err
	}
	name, err := account.NormalizeUsername(r.PathValue("name"))
	if err != nil {
		return err
	}
	if err := a.authAppOrSelf(r, app, name); err != nil {
		return err
	}
	var req passwordChange
	if err := readJSON(w, r, &req); err != nil {
		return err
	}
	if err := a.acct.ChangePassword(r.Context(), app.Key, name, req.NewPassword); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, respond[User](a, r, app, "set user password", "/users/"+name+"/password", start, nil))
	return nil
}
