package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// Headers of every webhook request besides SignatureHeader.
const (
	EventHeader   = "X-Duet-Event"    // the event type, e.g. "call.ended"
	EventIDHeader = "X-Duet-Event-Id" // the event id, for receivers to drop repeats
	userAgent     = "duet-webhook/1"
)

// StatusError is a non-2xx answer from the receiver.
type StatusError struct{ Status int }

func (e *StatusError) Error() string { return fmt.Sprintf("HTTP %d", e.Status) }

// NewHTTPClient returns the client webhooks are posted with: a per-request timeout, and
// redirects are not followed (a 3xx is a failed attempt), so a signed body only ever goes
// where it was configured to go.
func NewHTTPClient(tr http.RoundTripper, timeout time.Duration) *http.Client {
	return &http.Client{
		Transport: tr,
		Timeout:   timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// Post makes one signed delivery attempt of body to url. It returns nil on a 2xx answer, a
// *StatusError on any other answer, and the transport's error otherwise.
// at is when it is sent, which the signature covers.
func Post(ctx context.Context, hc *http.Client, url, secret, eventType, eventID string, body []byte, at time.Time) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", userAgent)
	req.Header.Set(SignatureHeader, Sign(secret, body, at))
	req.Header.Set(EventHeader, eventType)
	req.Header.Set(EventIDHeader, eventID)
	resp, err := hc.Do(req)
	if err != nil {
		return scrub(err)
	}
	// Drain a little so the connection can be reused; the answer's content is not used.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10)) // drained for reuse; a short read costs only the connection
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return &StatusError{Status: resp.StatusCode}
	}
	return nil
}

// scrub drops the URL from a transport error: a URL may carry credentials in its query, and
// attempt errors are stored and shown in the admin API.
func scrub(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}
