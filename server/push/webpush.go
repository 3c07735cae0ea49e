package push

import (
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	webpush "github.com/SherClockHolmes/webpush-go"

	"github.com/duet-rtc/duet/protocol"
	"github.com/duet-rtc/duet/server/store"
	"github.com/duet-rtc/duet/server/webhook"
)

// WebPushConfig is an app's VAPID identity (RFC 8292): the P-256 key pair its pushes are
// signed with and a contact for the push services. The server makes one per app the first
// time a page asks for the public key (VAPIDPublicKey); an operator may set their own
// through the admin API (then only privateKey and subject are needed).
type WebPushConfig struct {
	PublicKey  string `json:"publicKey"`  // uncompressed P-256 point, base64url: applicationServerKey
	PrivateKey string `json:"privateKey"` // the 32-byte scalar, base64url
	// Subject is the contact push services may reach the operator at: a mailto: or https:
	// URL. Default DefaultVAPIDSubject.
	Subject string `json:"subject,omitempty"`
}

// DefaultVAPIDSubject is the VAPID contact of generated keys, until an operator sets one.
const DefaultVAPIDSubject = "mailto:admin@duet.invalid"

// webPushTTLMessage is how long a push service keeps a message alert for a browser that is
// offline; calls and cancels keep theirs for the ring timeout only.
const webPushTTLMessage = 24 * time.Hour

// complete checks c, derives the public key from the private one and fills the subject.
func (c *WebPushConfig) complete() error {
	d, err := protocol.DecodeBase64URL(c.PrivateKey)
	if err != nil {
		return badCredentials("webpush: privateKey must be a P-256 private key (32 bytes, base64url)")
	}
	key, err := ecdh.P256().NewPrivateKey(d)
	if err != nil {
		return badCredentials("webpush: privateKey must be a P-256 private key (32 bytes, base64url)")
	}
	pub := base64.RawURLEncoding.EncodeToString(key.PublicKey().Bytes())
	if c.PublicKey != "" && strings.TrimRight(c.PublicKey, "=") != pub {
		return badCredentials("webpush: publicKey does not belong to privateKey")
	}
	c.PublicKey = pub
	switch {
	case c.Subject == "":
		c.Subject = DefaultVAPIDSubject
	case !strings.HasPrefix(c.Subject, "mailto:") && !strings.HasPrefix(c.Subject, "https://"):
		return badCredentials("webpush: subject must be a mailto: or https: URL")
	}
	return nil
}

// newWebPushConfig generates a VAPID key pair.
func newWebPushConfig() (WebPushConfig, error) {
	key, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		return WebPushConfig{}, err
	}
	c := WebPushConfig{PrivateKey: base64.RawURLEncoding.EncodeToString(key.Bytes())}
	return c, c.complete()
}

// VAPIDPublicKey returns the app's VAPID public key (base64url), which a page passes to
// pushManager.subscribe as applicationServerKey. The key pair is made and stored (sealed
// like every credential) on first use. Two nodes of a cluster making it at the same moment
// both try to add theirs and the first wins (AddPushCredentials): each returns what the store
// holds afterwards, which no later first use replaces.
func (s *Service) VAPIDPublicKey(ctx context.Context, app string) (string, error) {
	c, err := s.st.GetPushCredentials(ctx, app, protocol.PushWebPush)
	if errors.Is(err, store.ErrNotFound) {
		gen, gerr := newWebPushConfig()
		if gerr != nil {
			return "", gerr
		}
		raw, _ := json.Marshal(gen)
		added, aerr := s.st.AddPushCredentials(ctx, store.PushCredentials{App: app, Provider: protocol.PushWebPush,
			Config: raw, Updated: s.cfg.Clock.Now()})
		if aerr != nil {
			return "", aerr
		}
		if added {
			s.log.Info("push: made the app's VAPID key pair for Web Push", "app", app)
		}
		c, err = s.st.GetPushCredentials(ctx, app, protocol.PushWebPush)
	}
	if err != nil {
		return "", err
	}
	var cfg WebPushConfig
	if err := json.Unmarshal(c.Config, &cfg); err != nil {
		return "", fmt.Errorf("webpush credentials: %w", err)
	}
	return cfg.PublicKey, nil
}

// webPushSender pushes to browsers' push services: the payload encrypted for the
// subscription (RFC 8291, aes128gcm) and signed with the app's VAPID key (RFC 8292), by
// github.com/SherClockHolmes/webpush-go.
type webPushSender struct {
	hc  *http.Client
	now func() time.Time
}

// webPushPayload is what the page's service worker receives: what to show, and the
// provider-neutral data (type call.incoming, call.cancel or message; callId, from, ...).
type webPushPayload struct {
	App     string            `json:"app"`
	Title   string            `json:"title"`
	Body    string            `json:"body"`
	Data    map[string]string `json:"data"`
	Expires int64             `json:"expires,omitempty"` // unix ms: a call's ring is over then
}

func (w *webPushSender) send(ctx context.Context, creds store.PushCredentials, b store.PushBinding, n *notification) error {
	var cfg WebPushConfig
	if err := json.Unmarshal(creds.Config, &cfg); err != nil {
		return &sendError{err: fmt.Errorf("webpush credentials: %w", err)}
	}
	sub, err := protocol.ParseWebPushSubscription(b.Token)
	if err != nil {
		return &sendError{err: err, gone: true} // no push service would take it
	}
	p := webPushPayload{App: n.App, Title: n.Title, Body: n.Body, Data: n.data()}
	ttl := webPushTTLMessage
	urgency := webpush.UrgencyNormal
	topic := ""
	if n.Kind == KindCall || n.Kind == KindCancel {
		// A call rings only until the ring timeout; its cancel replaces the call's push
		// while that is still queued for an offline browser (same Topic, RFC 8030 §5.4).
		p.Expires = n.Expires.UnixMilli()
		ttl = max(n.Expires.Sub(w.now()), time.Second)
		urgency, topic = webpush.UrgencyHigh, webPushTopic(n.CallID)
	}
	body, err := json.Marshal(p)
	if err != nil {
		return &sendError{err: err}
	}
	// webpush-go puts "mailto:" before any subscriber that is not an https: URL.
	subscriber := strings.TrimPrefix(cfg.Subject, "mailto:")
	ws := &webpush.Subscription{Endpoint: sub.Endpoint, Keys: webpush.Keys{Auth: sub.Keys.Auth, P256dh: sub.Keys.P256dh}}
	resp, err := webpush.SendNotificationWithContext(ctx, body, ws, &webpush.Options{
		HTTPClient: w.hc, Subscriber: subscriber, Topic: topic, TTL: int(ttl / time.Second), Urgency: urgency,
		VAPIDPublicKey: cfg.PublicKey, VAPIDPrivateKey: cfg.PrivateKey,
	})
	if err != nil {
		// An endpoint on a refused address stays refused; other failures may pass.
		return &sendError{err: fmt.Errorf("webpush: %w", err), retry: ctx.Err() == nil && !errors.Is(err, webhook.ErrAddressRefused)}
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	switch code := resp.StatusCode; {
	case code >= 200 && code < 300:
		return nil
	case code == http.StatusNotFound || code == http.StatusGone:
		// The subscription expired or was unsubscribed (RFC 8030 §7.3).
		return &sendError{err: fmt.Errorf("webpush: HTTP %d", code), gone: true}
	case code == http.StatusTooManyRequests || code >= 500:
		return &sendError{err: fmt.Errorf("webpush: HTTP %d", code), retry: true}
	default:
		// 400, 401/403 (VAPID refused), 413: another attempt would fare the same.
		return &sendError{err: fmt.Errorf("webpush: HTTP %d: %s", code, strings.TrimSpace(string(msg)))}
	}
}

// webPushTopic is the Topic header of a call's pushes: at most 32 characters of the URL-safe
// base64 alphabet (RFC 8030 §5.4). Call ids are 26 such characters.
func webPushTopic(callID string) string {
	t := strings.Map(func(r rune) rune {
		if r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return -1
	}, callID)
	return t[:min(len(t), 32)]
}
