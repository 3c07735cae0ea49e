package api

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/duet-rtc/duet/server/account"
)

// RecordingClient calls the recording endpoints of one app with an app token; the duet CLI
// uses it for `duet recording`. Error replies come back as *Error.
type RecordingClient struct {
	BaseURL string       // e.g. "http://localhost:8080"
	AppKey  string       // "org#app"
	Token   string       // an app token of AppKey
	HTTP    *http.Client // nil: http.DefaultClient
}

// RecordingQuery selects recordings to list. Zero fields do not filter.
type RecordingQuery struct {
	ServerVideoID string
	Type          string // ONLY_REC_ONE_AV or MERGE_ALL
	Since, Until  time.Time
	Cursor        string
	Limit         int
}

// List returns one page of recordings, newest first, and the cursor of the next page.
func (c *RecordingClient) List(ctx context.Context, q RecordingQuery) ([]Recording, string, error) {
	v := url.Values{}
	if q.ServerVideoID != "" {
		v.Set("serverVideoId", q.ServerVideoID)
	}
	if q.Type != "" {
		v.Set("type", q.Type)
	}
	if !q.Since.IsZero() {
		v.Set("since", strconv.FormatInt(q.Since.UnixMilli(), 10))
	}
	if !q.Until.IsZero() {
		v.Set("until", strconv.FormatInt(q.Until.UnixMilli(), 10))
	}
	if q.Cursor != "" {
		v.Set("cursor", q.Cursor)
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	path, err := c.path("/recordings")
	if err != nil {
		return nil, "", err
	}
	if len(v) > 0 {
		path += "?" + v.Encode()
	}
	var resp Response[Recording]
	if err := c.do(ctx, http.MethodGet, path, &resp); err != nil {
		return nil, "", err
	}
	return resp.Entities, resp.Cursor, nil
}

// Get returns one recording.
func (c *RecordingClient) Get(ctx context.Context, id string) (Recording, error) {
	path, err := c.path("/recordings/" + url.PathEscape(id))
	if err != nil {
		return Recording{}, err
	}
	var resp Response[Recording]
	if err := c.do(ctx, http.MethodGet, path, &resp); err != nil {
		return Recording{}, err
	}
	if len(resp.Entities) != 1 {
		return Recording{}, fmt.Errorf("unexpected reply with %d entities", len(resp.Entities))
	}
	return resp.Entities[0], nil
}

// Delete deletes one recording and its file.
func (c *RecordingClient) Delete(ctx context.Context, id string) error {
	path, err := c.path("/recordings/" + url.PathEscape(id))
	if err != nil {
		return err
	}
	return c.do(ctx, http.MethodDelete, path, nil)
}

// Download writes the recording's file to w from byte offset on (0: all of it, else a Range
// request, as a resumed download sends) and returns the bytes written.
func (c *RecordingClient) Download(ctx context.Context, id string, offset int64, w io.Writer) (int64, error) {
	path, err := c.path("/recordings/" + url.PathEscape(id) + "/file")
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(c.BaseURL, "/")+path, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	if offset > 0 {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", offset))
	}
	resp, err := c.client().Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	want := http.StatusOK
	if offset > 0 {
		want = http.StatusPartialContent
	}
	if resp.StatusCode != want {
		return 0, decodeError(resp)
	}
	return io.Copy(w, resp.Body)
}

func (c *RecordingClient) path(rest string) (string, error) {
	org, name, err := account.SplitAppKey(c.AppKey)
	if err != nil {
		return "", err
	}
	return "/" + url.PathEscape(org) + "/" + url.PathEscape(name) + rest, nil
}

func (c *RecordingClient) client() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return http.DefaultClient
}

func (c *RecordingClient) do(ctx context.Context, method, path string, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(c.BaseURL, "/")+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	resp, err := c.client().Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return decodeError(resp)
	}
	if out == nil {
		return nil
	}
	return json.NewDecoder(io.LimitReader(resp.Body, maxReplyBytes)).Decode(out)
}

// decodeError turns an error reply into *Error (or a plain error for a non-JSON body).
func decodeError(resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var e Error
	if json.Unmarshal(b, &e) == nil && e.Description != "" {
		e.Status = resp.StatusCode
		return &e
	}
	return fmt.Errorf("HTTP %d: %s", resp.StatusCode, strings.TrimSpace(string(b)))
}
