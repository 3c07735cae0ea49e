package push

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/sideshow/apns2"

	"github.com/duet-rtc/duet/server/store"
	"github.com/duet-rtc/duet/server/webhook"
)

// apnsSender pushes through the APNs provider API with github.com/sideshow/apns2. It keeps
// one client, and so one HTTP/2 connection, per app: APNs asks providers to reuse
// connections rather than open one per push.
type apnsSender struct {
	base    *tls.Config // RootCAs for tests; nil: the system's
	timeout time.Duration

	mu      sync.Mutex
	clients map[string]*apnsClient // by app key
}

type apnsClient struct {
	config string // the credentials it was built from; new credentials make a new client
	cfg    APNsConfig
	c      *apns2.Client
	tr     *webhook.Transport
}

func newAPNsSender(base *tls.Config, timeout time.Duration) *apnsSender {
	return &apnsSender{base: base, timeout: timeout, clients: map[string]*apnsClient{}}
}

// client returns the app's client for creds, building it when the credentials changed.
func (a *apnsSender) client(creds store.PushCredentials) (*apnsClient, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if c := a.clients[creds.App]; c != nil && c.config == string(creds.Config) {
		return c, nil
	}
	var cfg APNsConfig
	if err := json.Unmarshal(creds.Config, &cfg); err != nil {
		return nil, fmt.Errorf("apns: stored credentials: %w", err)
	}
	cert, err := cfg.tlsCertificate()
	if err != nil {
		return nil, err
	}
	tok, err := cfg.signingKey()
	if err != nil {
		return nil, err
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if a.base != nil {
		tc = a.base.Clone()
	}
	c := &apns2.Client{Host: cfg.host(), Token: tok}
	if cert != nil {
		tc.Certificates = []tls.Certificate{*cert}
		c.Certificate = *cert
	}
	tr := webhook.NewTransport(tc) // HTTP/2, which is all APNs speaks
	tr.IdleConnTimeout = 10 * time.Minute
	c.HTTPClient = &http.Client{Timeout: a.timeout, Transport: tr}
	if old := a.clients[creds.App]; old != nil {
		old.tr.Close()
	}
	ac := &apnsClient{config: string(creds.Config), cfg: cfg, c: c, tr: tr}
	a.clients[creds.App] = ac
	return ac, nil
}

// close closes every client's connections.
func (a *apnsSender) close() {
	a.mu.Lock()
	defer a.mu.Unlock()
	for k, c := range a.clients {
		c.tr.Close()
		delete(a.clients, k)
	}
}

// send pushes n to one APNs binding. A call goes to a VoIP token as a VoIP push (topic
// "<bundle>.voip", priority 10, expiring with the ring); nothing else does, since every VoIP
// push must report a call to CallKit. To an alert token a call is an alert that its cancel
// replaces (same apns-collapse-id). Cancels and messages are alerts.
func (a *apnsSender) send(ctx context.Context, creds store.PushCredentials, b store.PushBinding, n *notification) error {
	ac, err := a.client(creds)
	if err != nil {
		return &sendError{err: err}
	}
	topic := b.Topic
	if topic == "" {
		topic = ac.cfg.Topic
	}
	note := &apns2.Notification{DeviceToken: b.Token, Priority: apns2.PriorityHigh, Expiration: n.Expires}
	switch {
	case b.VoIP:
		if n.Kind != KindCall {
			return errNotForTarget // Apple kills apps whose VoIP pushes do not report a call
		}
		note.Topic = strings.TrimSuffix(topic, ".voip") + ".voip"
		note.PushType = apns2.PushTypeVOIP
		note.Payload = map[string]any{"duet": n.data()}
	default:
		note.Topic = topic
		note.PushType = apns2.PushTypeAlert
		if n.Kind == KindCancel && n.Answered {
			return errNotForTarget // an answered call leaves nothing to replace
		}
		if n.CallID != "" {
			note.CollapseID = n.CallID
		}
		note.Payload = alertPayload(n)
	}
	resp, err := ac.c.PushWithContext(ctx, note)
	if err != nil {
		return &sendError{err: fmt.Errorf("apns: %w", err), retry: true}
	}
	if resp.Sent() {
		return nil
	}
	se := &sendError{err: fmt.Errorf("apns: HTTP %d %s", resp.StatusCode, resp.Reason)}
	switch {
	case resp.StatusCode == http.StatusGone, resp.Reason == apns2.ReasonBadDeviceToken,
		resp.Reason == apns2.ReasonUnregistered:
		se.gone = true
	case resp.StatusCode == http.StatusTooManyRequests, resp.StatusCode >= 500,
		resp.Reason == apns2.ReasonExpiredProviderToken:
		se.retry = true
	}
	return se
}

// alertPayload is the aps dictionary of an alert, plus the duet data.
func alertPayload(n *notification) map[string]any {
	aps := map[string]any{
		"alert": map[string]string{"title": n.Title, "body": n.Body},
		"sound": n.Sound,
	}
	if n.MutableContent {
		aps["mutable-content"] = 1
	}
	if n.Category != "" {
		aps["category"] = n.Category
	}
	return map[string]any{"aps": aps, "duet": n.data()}
}
