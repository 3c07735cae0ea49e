package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/duet-rtc/duet/protocol"
	"github.com/duet-rtc/duet/server/account"
)

// AdminClient calls the admin API (/admin/v1/) of a duet server; the duet CLI uses it for
// `duet app` and `duet user`. Error replies come back as *Error.
type AdminClient struct {
	BaseURL string       // e.g. "http://localhost:8080"
	Token   string       // the server's admin token
	HTTP    *http.Client // nil: http.DefaultClient
}

// maxReplyBytes bounds what the client reads of a reply.
const maxReplyBytes = 8 << 20

// CreateApp creates the app org#name; registration is "open" (also when empty) or
// "authorized". The reply includes the app's client credentials.
func (c *AdminClient) CreateApp(ctx context.Context, org, name, registration string) (App, error) {
	var resp Response[App]
	if err := c.do(ctx, http.MethodPost, "/admin/v1/apps", NewApp{Org: org, Name: name, Registration: registration}, &resp); err != nil {
		return App{}, err
	}
	if len(resp.Entities) != 1 {
		return App{}, fmt.Errorf("duet api: create app: %d entities in reply", len(resp.Entities))
	}
	return resp.Entities[0], nil
}

// ListApps returns every app, credentials included.
func (c *AdminClient) ListApps(ctx context.Context) ([]App, error) {
	var resp Response[App]
	if err := c.do(ctx, http.MethodGet, "/admin/v1/apps", nil, &resp); err != nil {
		return nil, err
	}
	return resp.Entities, nil
}

// AddUser creates one user in the app appKey ("org#app"), whatever its registration mode.
func (c *AdminClient) AddUser(ctx context.Context, appKey, username, password, nickname string) (User, error) {
	path, err := appPath(appKey, "/users")
	if err != nil {
		return User{}, err
	}
	var resp Response[User]
	if err := c.do(ctx, http.MethodPost, path, NewUser{Username: username, Password: password, Nickname: nickname}, &resp); err != nil {
		return User{}, err
	}
	if len(resp.Entities) != 1 {
		return User{}, fmt.Errorf("duet api: add user: %d entities in reply", len(resp.Entities))
	}
	return resp.Entities[0], nil
}

// ListUsers returns a page of the app's users in username order, after cursor ("" first),
// and the next page's cursor ("" on the last). limit 0 means the server's default (20).
func (c *AdminClient) ListUsers(ctx context.Context, appKey, cursor string, limit int) ([]User, string, error) {
	path, err := appPath(appKey, "/users")
	if err != nil {
		return nil, "", err
	}
	q := url.Values{}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var resp Response[User]
	if err := c.do(ctx, http.MethodGet, path, nil, &resp); err != nil {
		return nil, "", err
	}
	return resp.Entities, resp.Cursor, nil
}

// DeleteUser deletes a user of the app appKey, with the user's tokens.
func (c *AdminClient) DeleteUser(ctx context.Context, appKey, username string) error {
	path, err := appPath(appKey, "/users/"+url.PathEscape(username))
	if err != nil {
		return err
	}
	return c.do(ctx, http.MethodDelete, path, nil, nil)
}

// RotateSecret gives the app a new client secret and returns the app with it (the only time
// it is shown).
func (c *AdminClient) RotateSecret(ctx context.Context, appKey string) (App, error) {
	path, err := appPath(appKey, "/secret")
	if err != nil {
		return App{}, err
	}
	var resp Response[App]
	if err := c.do(ctx, http.MethodPost, path, nil, &resp); err != nil {
		return App{}, err
	}
	if len(resp.Entities) != 1 {
		return App{}, fmt.Errorf("duet api: %d apps in the reply", len(resp.Entities))
	}
	return resp.Entities[0], nil
}

// RevokeTokens revokes every token of a user and disconnects its devices (kicked,
// BeenKicked).
func (c *AdminClient) RevokeTokens(ctx context.Context, appKey, username string) error {
	path, err := appPath(appKey, "/users/"+url.PathEscape(username)+"/tokens")
	if err != nil {
		return err
	}
	return c.do(ctx, http.MethodDelete, path, nil, nil)
}

// AppToken issues an app token of appKey valid for ttl (0: 60 days), rounded down to
// seconds.
func (c *AdminClient) AppToken(ctx context.Context, appKey string, ttl time.Duration) (TokenResponse, error) {
	path, err := appPath(appKey, "/token")
	if err != nil {
		return TokenResponse{}, err
	}
	var resp TokenResponse
	if err := c.do(ctx, http.MethodPost, path, appTokenRequest{TTL: int64(ttl / time.Second)}, &resp); err != nil {
		return TokenResponse{}, err
	}
	return resp, nil
}

// appPath is /admin/v1/apps/{org}/{app} + rest for the key "org#app".
func appPath(appKey, rest string) (string, error) {
	org, name, err := account.SplitAppKey(appKey)
	if err != nil {
		return "", err
	}
	return "/admin/v1/apps/" + url.PathEscape(org) + "/" + url.PathEscape(name) + rest, nil
}

// do sends a JSON request and decodes a JSON reply into out (if not nil).
func (c *AdminClient) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("duet api: encode request: %w", err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(c.BaseURL, "/")+path, body)
	if err != nil {
		return fmt.Errorf("duet api: %w", err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("duet api: %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxReplyBytes))
	if err != nil {
		return fmt.Errorf("duet api: %s %s: read reply: %w", method, path, err)
	}
	if resp.StatusCode >= 300 {
		e := &Error{}
		if json.Unmarshal(data, e) != nil || e.Code == 0 {
			e = &Error{Name: "http_error", Code: protocol.CodeServerUnknown,
				Description: fmt.Sprintf("%s %s: %s", method, path, bytes.TrimSpace(data[:min(len(data), 200)]))}
		}
		e.Status = resp.StatusCode
		return e
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("duet api: %s %s: undecodable reply: %w", method, path, err)
		}
	}
	return nil
}
