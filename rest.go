package duet

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/duet-rtc/duet/protocol"
)

// restError is the server's JSON error body.
type restError struct {
	Error       string             `json:"error"`
	Description string             `json:"error_description"`
	Code        protocol.ErrorCode `json:"code"`
}

// doREST sends a JSON request to the app's REST API and decodes the JSON reply into out.
func (c *Client) doREST(ctx context.Context, method, path, token string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("duet: encode request: %w", err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.currentNode().rest+c.opts.appPath()+path, body)
	if err != nil {
		return &Error{Code: protocol.CodeGeneral, Message: err.Error()}
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.opts.HTTPClient.Do(req)
	if err != nil {
		return &Error{Code: protocol.CodeServerNotReachable, Message: err.Error()}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return &Error{Code: protocol.CodeServerNotReachable, Message: err.Error()}
	}
	if resp.StatusCode >= 300 {
		var re restError
		if json.Unmarshal(data, &re) == nil && re.Code != 0 {
			return &Error{Code: re.Code, Message: re.Description}
		}
		if resp.StatusCode == http.StatusServiceUnavailable { // a node draining, or none behind a proxy
			return &Error{Code: protocol.CodeServerBusy, Message: "HTTP 503"}
		}
		return &Error{Code: protocol.CodeServerUnknown, Message: fmt.Sprintf("HTTP %d: %s", resp.StatusCode, bytes.TrimSpace(data))}
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return &Error{Code: protocol.CodeServerUnknown, Message: "undecodable reply: " + err.Error()}
		}
	}
	return nil
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
