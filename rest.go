package duet

import (
	"context"
	"net/http"
	"time"
)

// doREST sends a JSON request to the app's REST API on the current node and decodes the
// JSON reply into out.
func (c *Client) doREST(ctx context.Context, method, path, token string, in, out any) error {
	return c.rest.Do(ctx, c.currentNode().rest, method, path, token, in, out)
}

// Register creates a user in the app (open registration mode), like the seed's
// registerWithUsername:password:.
func (c *Client) Register(ctx context.Context, username, password string) error {
	body := map[string]string{"username": username, "password": password}
	return c.onSomeNode(func() error { return c.doREST(ctx, http.MethodPost, "/users", "", body, nil) })
}

type tokenReply struct {
	AccessToken string `json:"access_token"`
	ExpiresIn   int64  `json:"expires_in"`
}

// fetchToken logs in over REST (grant_type password) and returns a user token.
func (c *Client) fetchToken(ctx context.Context, username, password string) (string, time.Duration, error) {
	var tr tokenReply
	body := map[string]any{"grant_type": "password", "username": username, "password": password}
	if err := c.doREST(ctx, http.MethodPost, "/token", "", body, &tr); err != nil {
		return "", 0, err
	}
	return tr.AccessToken, time.Duration(tr.ExpiresIn) * time.Second, nil
}
