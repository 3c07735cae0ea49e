// Package rest is the Go SDK's client of the server's REST API: JSON requests, and the
// server's error bodies turned into coded errors.
package rest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"github.com/duet-rtc/duet/protocol"
)

// restError is the server's JSON error body.
type restError struct {
	Error       string             `json:"error"`
	Description string             `json:"error_description"`
	Code        protocol.ErrorCode `json:"code"`
}

// Client calls one app's REST API (Easemob-shaped: /{org}/{app}/...) on whichever node
// the caller names.
type Client struct {
	// HTTP sends the requests.
	HTTP *http.Client
	// AppPath is "/{org}/{app}", escaped.
	AppPath string
}

// Do sends a JSON request to path of the app's API on the node at base and decodes the
// JSON reply into out. Failures are *protocol.Error: ServerNotReachable when the node could
// not be reached, ServerBusy for a 503, the server's code when it sent one.
func (c *Client) Do(ctx context.Context, base, method, path, token string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("duet: encode request: %w", err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, base+c.AppPath+path, body)
	if err != nil {
		return &protocol.Error{Code: protocol.CodeGeneral, Message: err.Error()}
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return &protocol.Error{Code: protocol.CodeServerNotReachable, Message: err.Error()}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return &protocol.Error{Code: protocol.CodeServerNotReachable, Message: err.Error()}
	}
	if resp.StatusCode >= 300 {
		var re restError
		if json.Unmarshal(data, &re) == nil && re.Code != 0 {
			return &protocol.Error{Code: re.Code, Message: re.Description}
		}
		if resp.StatusCode == http.StatusServiceUnavailable { // a node draining, or none behind a proxy
			return &protocol.Error{Code: protocol.CodeServerBusy, Message: "HTTP 503"}
		}
		return &protocol.Error{Code: protocol.CodeServerUnknown, Message: fmt.Sprintf("HTTP %d: %s", resp.StatusCode, bytes.TrimSpace(data))}
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return &protocol.Error{Code: protocol.CodeServerUnknown, Message: "undecodable reply: " + err.Error()}
		}
	}
	return nil
}
