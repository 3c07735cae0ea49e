package api

import (
	"net/http"
	"time"

	"github.com/duet-rtc/duet/protocol"
	"github.com/duet-rtc/duet/server/account"
)

// maxTTLSeconds is the largest ttl a request may ask for.
const maxTTLSeconds = int64(account.MaxTokenTTL / time.Second)

// ttlOf converts a requested ttl in seconds, checking its range first so that the
// conversion cannot overflow.
func ttlOf(seconds int64) (time.Duration, error) {
	if seconds < 0 || seconds > maxTTLSeconds {
		return 0, newHTTPError(http.StatusBadRequest, nameIllegalArgument, protocol.CodeUserIllegalArgument,
			"ttl must be 0 (default %d s) to %d s", int64(account.DefaultTokenTTL/time.Second), maxTTLSeconds)
	}
	return time.Duration(seconds) * time.Second, nil
}

// token: POST /{org}/{app}/token with grant_type password (a user token) or
// client_credentials (an app token).
func (a *API) token(w http.ResponseWriter, r *http.Request, start time.Time) error {
	app, err := a.pathApp(r)
	if err != nil {
		return err
	}
	var req TokenRequest
	if err := readJSON(w, r, &req); err != nil {
		return err
	}
	ttl, err := ttlOf(req.TTL)
	if err != nil {
		return err
	}
	var iss account.Issued
	var done func(error)
	switch req.GrantType {
	case "password":
		if done, err = a.tryLogin(w, r, accountKey(app.Key, req.Username)); err != nil {
			return err
		}
		iss, err = a.acct.PasswordToken(r.Context(), app.Key, req.Username, req.Password, ttl)
		done(err)
	case "client_credentials":
		if done, err = a.tryLogin(w, r, accountKey(app.Key, "")); err != nil { // the app's own account
			return err
		}
		iss, err = a.acct.AppToken(r.Context(), app.Key, req.ClientID, req.ClientSecret, ttl)
		done(err)
	default:
		return newHTTPError(http.StatusBadRequest, nameUnsupported, protocol.CodeUserIllegalArgument,
			"grant_type must be password or client_credentials")
	}
	if protocol.CodeOf(err) == protocol.CodeUserAuthFailed {
		return withStatus(err, http.StatusUnauthorized, nameInvalidGrant)
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, tokenResponse(iss))
	return nil
}

func tokenResponse(iss account.Issued) TokenResponse {
	resp := TokenResponse{AccessToken: iss.Token, ExpiresIn: int64(iss.TTL / time.Second)}
	if iss.User.Username != "" {
		u := userOf(iss.User)
		resp.User = &u
	} else {
		resp.Application = AppUUID(iss.App.Key)
	}
	return resp
}

// logout: DELETE /{org}/{app}/token or POST /{org}/{app}/logout revokes the bearer token.
func (a *API) logout(w http.ResponseWriter, r *http.Request, start time.Time) error {
	app, err := a.pathApp(r)
	if err != nil {
		return err
	}
	if _, err := a.authAny(r, app); err != nil {
		return err
	}
	if err := a.acct.Revoke(r.Context(), bearer(r)); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, respond[User](a, r, app, "delete", "/token", start, nil))
	return nil
}
