package push

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v4"

	"github.com/duet-rtc/duet/server/store"
)

// fcmSender pushes through FCM HTTP v1. It authenticates as the app's service account with
// the OAuth 2.0 JWT bearer flow (RFC 7523): a JWT signed with the account's RSA key is
// exchanged at token_uri for an access token, which is cached until shortly before it
// expires.
type fcmSender struct {
	hc  *http.Client
	now func() time.Time

	mu     sync.Mutex
	tokens map[string]fcmToken // by app key
}

type fcmToken struct {
	config  string // the credentials it was issued for
	access  string
	expires time.Time
}

func newFCMSender(hc *http.Client, now func() time.Time) *fcmSender {
	return &fcmSender{hc: hc, now: now, tokens: map[string]fcmToken{}}
}

// maxReply bounds what is read of a provider's answer.
const maxReply = 64 << 10

// accessToken returns a valid access token for the app, fetching one when needed.
func (f *fcmSender) accessToken(ctx context.Context, creds store.PushCredentials, sa serviceAccount) (string, error) {
	f.mu.Lock()
	t, ok := f.tokens[creds.App]
	f.mu.Unlock()
	if ok && t.config == string(creds.Config) && f.now().Before(t.expires.Add(-time.Minute)) {
		return t.access, nil
	}
	key, err := parseRSAKey(sa.PrivateKey)
	if err != nil {
		return "", fmt.Errorf("fcm: service account key: %w", err)
	}
	now := f.now()
	jt := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{
		"iss": sa.ClientEmail, "scope": fcmScope, "aud": sa.TokenURI,
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
	})
	if sa.PrivateKeyID != "" {
		jt.Header["kid"] = sa.PrivateKeyID
	}
	assertion, err := jt.SignedString(key)
	if err != nil {
		return "", fmt.Errorf("fcm: sign the token request: %w", err)
	}
	form := url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "assertion": {assertion}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, sa.TokenURI, strings.NewReader(form.Encode()))
	if err != nil {
		return "", fmt.Errorf("fcm: token request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := f.hc.Do(req)
	if err != nil {
		return "", &sendError{err: fmt.Errorf("fcm: token request: %w", err), retry: true}
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxReply))
	if resp.StatusCode != http.StatusOK {
		return "", &sendError{err: fmt.Errorf("fcm: token endpoint: HTTP %d", resp.StatusCode), retry: resp.StatusCode >= 500}
	}
	var tr struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int64  `json:"expires_in"`
	}
	if err := json.Unmarshal(body, &tr); err != nil || tr.AccessToken == "" {
		return "", &sendError{err: fmt.Errorf("fcm: token endpoint: no access_token in the answer")}
	}
	if tr.ExpiresIn <= 0 {
		tr.ExpiresIn = 3600
	}
	f.mu.Lock()
	f.tokens[creds.App] = fcmToken{config: string(creds.Config), access: tr.AccessToken, expires: now.Add(time.Duration(tr.ExpiresIn) * time.Second)}
	f.mu.Unlock()
	return tr.AccessToken, nil
}

func (f *fcmSender) forget(app string) {
	f.mu.Lock()
	delete(f.tokens, app)
	f.mu.Unlock()
}

// send pushes n to one FCM registration token. Calls and cancels are high-priority data
// messages (the app rings or stops ringing itself); messages are notifications.
func (f *fcmSender) send(ctx context.Context, creds store.PushCredentials, b store.PushBinding, n *notification) error {
	var cfg FCMConfig
	if err := json.Unmarshal(creds.Config, &cfg); err != nil {
		return &sendError{err: fmt.Errorf("fcm: stored credentials: %w", err)}
	}
	sa, err := cfg.account()
	if err != nil {
		return &sendError{err: err}
	}
	access, err := f.accessToken(ctx, creds, sa)
	if err != nil {
		return err
	}
	android := map[string]any{"priority": "HIGH"}
	msg := map[string]any{"token": b.Token, "data": n.data(), "android": android}
	if !n.Expires.IsZero() {
		ttl := max(n.Expires.Sub(f.now()), time.Second)
		android["ttl"] = fmt.Sprintf("%ds", int(ttl/time.Second))
	}
	if n.CallID != "" {
		android["collapse_key"] = n.CallID
	}
	if n.Kind == KindMessage {
		msg["notification"] = map[string]string{"title": n.Title, "body": n.Body}
		an := map[string]string{}
		if n.AndroidSound != "" {
			an["sound"] = n.AndroidSound
		}
		if n.ChannelID != "" {
			an["channel_id"] = n.ChannelID
		}
		if len(an) > 0 {
			android["notification"] = an
		}
	}
	body, err := json.Marshal(map[string]any{"message": msg})
	if err != nil {
		return &sendError{err: err}
	}
	u := cfg.endpoint() + "/v1/projects/" + url.PathEscape(sa.ProjectID) + "/messages:send"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return &sendError{err: fmt.Errorf("fcm: %w", err)}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+access)
	resp, err := f.hc.Do(req)
	if err != nil {
		return &sendError{err: fmt.Errorf("fcm: send: %w", err), retry: true}
	}
	defer resp.Body.Close()
	reply, _ := io.ReadAll(io.LimitReader(resp.Body, maxReply))
	if resp.StatusCode == http.StatusOK {
		return nil
	}
	code := fcmErrorCode(reply)
	se := &sendError{err: fmt.Errorf("fcm: HTTP %d %s", resp.StatusCode, code)}
	switch {
	case resp.StatusCode == http.StatusNotFound, code == "UNREGISTERED":
		se.gone = true
	case resp.StatusCode == http.StatusUnauthorized:
		f.forget(creds.App) // the access token was revoked: fetch another on the retry
		se.retry = true
	case resp.StatusCode == http.StatusTooManyRequests, resp.StatusCode >= 500:
		se.retry = true
	}
	return se
}

// fcmErrorCode finds the FCM error code (UNREGISTERED, INVALID_ARGUMENT, ...) in an error
// answer: details[].errorCode of the FcmError, else error.status.
func fcmErrorCode(body []byte) string {
	var e struct {
		Error struct {
			Status  string `json:"status"`
			Details []struct {
				Type      string `json:"@type"`
				ErrorCode string `json:"errorCode"`
			} `json:"details"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &e) != nil {
		return ""
	}
	for _, d := range e.Error.Details {
		if d.ErrorCode != "" {
			return d.ErrorCode
		}
	}
	return e.Error.Status
}
