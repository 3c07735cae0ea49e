package push

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/duet-rtc/duet/server/store"
	"github.com/duet-rtc/duet/server/webhook"
)

// hookSender is the webhook provider, for apps with a push service of their own: each push
// is a POST of hookPayload to the app's URL, signed like the call webhooks.
type hookSender struct {
	hc  *http.Client
	now func() time.Time
}

// hookPayload is the body the app's push service receives.
type hookPayload struct {
	ID        string            `json:"id"`
	Type      string            `json:"type"` // "call.incoming", "call.cancel" or "message"
	App       string            `json:"app"`
	User      string            `json:"user"`
	Device    string            `json:"device"`
	Token     string            `json:"token"`
	Timestamp int64             `json:"timestamp"`
	Alert     *hookAlert        `json:"alert,omitempty"`
	Data      map[string]string `json:"data"`
}

type hookAlert struct {
	Title string `json:"title"`
	Body  string `json:"body"`
	Sound string `json:"sound,omitempty"`
}

func (h *hookSender) send(ctx context.Context, creds store.PushCredentials, b store.PushBinding, n *notification) error {
	var cfg WebhookConfig
	if err := json.Unmarshal(creds.Config, &cfg); err != nil {
		return &sendError{err: fmt.Errorf("webhook push: stored credentials: %w", err)}
	}
	p := hookPayload{ID: rand.Text(), Type: n.Kind, App: n.App, User: b.User, Device: b.Device,
		Token: b.Token, Timestamp: h.now().UnixMilli(), Data: n.data()}
	if n.Kind != KindCancel {
		p.Alert = &hookAlert{Title: n.Title, Body: n.Body, Sound: n.Sound}
	}
	body, err := json.Marshal(p)
	if err != nil {
		return &sendError{err: err}
	}
	err = webhook.Post(ctx, h.hc, cfg.URL, cfg.Secret, n.Kind, p.ID, body, h.now())
	if err == nil {
		return nil
	}
	se := &sendError{err: fmt.Errorf("webhook push: %w", err), retry: true}
	var st *webhook.StatusError
	if errors.As(err, &st) {
		// 410 means the app's service no longer knows the token; other 4xx will not change
		// on a retry.
		se.gone = st.Status == http.StatusGone
		se.retry = st.Status == http.StatusTooManyRequests || st.Status >= 500
	}
	return se
}
