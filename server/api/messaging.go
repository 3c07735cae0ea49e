package api

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/duet-rtc/duet/protocol"
	"github.com/duet-rtc/duet/server/push"
	"github.com/duet-rtc/duet/server/store"
)

// Messaging is what the admin endpoints of push credentials and webhooks work on.
type Messaging struct {
	Push     store.PushStore
	Webhooks store.WebhookStore
	// KickWebhooks makes the webhook outbox look for due deliveries (after a retry).
	KickWebhooks func()
	// Now is the server's clock; default time.Now.
	Now func() time.Time
}

// PushCredentials is one provider's credentials as the admin API shows them: secrets are
// replaced by "(redacted)".
type PushCredentials = push.Redacted

// Webhook is a webhook endpoint as the admin API shows it. Secret is only ever shown in the
// reply that generated it.
type Webhook struct {
	ID      string `json:"id"`
	URL     string `json:"url"`
	Secret  string `json:"secret,omitempty"`
	Created int64  `json:"created"` // unix ms
	Updated int64  `json:"updated"`
}

// NewWebhook is the body of POST /admin/v1/apps/{org}/{app}/webhooks. An empty Secret
// keeps the endpoint's secret, or generates one for a new endpoint.
type NewWebhook struct {
	URL    string `json:"url"`
	Secret string `json:"secret,omitempty"`
}

// DeadLetter is a webhook delivery that was given up.
type DeadLetter struct {
	ID        int64           `json:"id"`
	Endpoint  string          `json:"endpoint"`
	URL       string          `json:"url"`
	EventID   string          `json:"eventId"`
	EventType string          `json:"eventType"`
	CallID    string          `json:"callId"`
	Attempts  int             `json:"attempts"`
	LastError string          `json:"lastError"`
	Created   int64           `json:"created"` // unix ms
	DeadAt    int64           `json:"deadAt"`
	Body      json.RawMessage `json:"body"` // the event as it would have been posted
}

// RetryResult answers a retry of dead letters.
type RetryResult struct {
	Retried int64 `json:"retried"`
}

// Bounds of webhook endpoints.
const (
	maxWebhookURL     = 2048
	maxWebhooksPerApp = 16
	minWebhookSecret  = 16
	maxWebhookSecret  = 256
)

// MessagingRoutes registers the admin endpoints of push credentials and webhooks on mux:
//
//	GET    /admin/v1/apps/{org}/{app}/push                      credentials, redacted
//	PUT    /admin/v1/apps/{org}/{app}/push/{provider}           set (apns, fcm, webhook)
//	DELETE /admin/v1/apps/{org}/{app}/push/{provider}
//	GET    /admin/v1/apps/{org}/{app}/webhooks                  endpoints, secrets left out
//	POST   /admin/v1/apps/{org}/{app}/webhooks                  add, or update by url
//	DELETE /admin/v1/apps/{org}/{app}/webhooks/{id}
//	GET    /admin/v1/apps/{org}/{app}/webhooks/deadletters?limit=
//	POST   /admin/v1/apps/{org}/{app}/webhooks/deadletters/retry
//	POST   /admin/v1/apps/{org}/{app}/webhooks/deadletters/{id}/retry
func (a *API) MessagingRoutes(mux *http.ServeMux, m Messaging) {
	if m.Now == nil {
		m.Now = time.Now
	}
	h := &messagingAPI{a: a, m: m}
	for _, rt := range []route{
		{"GET /admin/v1/apps/{org}/{app}/push", h.listPush},
		{"PUT /admin/v1/apps/{org}/{app}/push/{provider}", h.setPush},
		{"DELETE /admin/v1/apps/{org}/{app}/push/{provider}", h.deletePush},
		{"GET /admin/v1/apps/{org}/{app}/webhooks", h.listWebhooks},
		{"POST /admin/v1/apps/{org}/{app}/webhooks", h.setWebhook},
		{"DELETE /admin/v1/apps/{org}/{app}/webhooks/{id}", h.deleteWebhook},
		{"GET /admin/v1/apps/{org}/{app}/webhooks/deadletters", h.deadLetters},
		{"POST /admin/v1/apps/{org}/{app}/webhooks/deadletters/retry", h.retryDead},
		{"POST /admin/v1/apps/{org}/{app}/webhooks/deadletters/{id}/retry", h.retryOneDead},
	} {
		mux.Handle(rt.pattern, a.serve(rt.h))
		a.mux.Handle(rt.pattern, a.serve(rt.h))
	}
}

type messagingAPI struct {
	a *API
	m Messaging
}

// errDB wraps a store failure as a coded 500 without details for the client.
func errDB(err error) error {
	return fmt.Errorf("%w: %w", protocol.NewError(protocol.CodeDatabase, "database error"), err)
}

func (h *messagingAPI) listPush(w http.ResponseWriter, r *http.Request, start time.Time) error {
	app, err := h.a.adminApp(r)
	if err != nil {
		return err
	}
	list, err := h.m.Push.ListPushCredentials(r.Context(), app.Key)
	if err != nil {
		return errDB(err)
	}
	out := make([]PushCredentials, len(list))
	for i, c := range list {
		out[i] = push.Redact(c.Provider, c.Config, msOf(c.Updated))
		redactConfigURLs(out[i].Config)
	}
	writeJSON(w, http.StatusOK, respond(h.a, r, app, "get", "/push", start, out))
	return nil
}

// setPush: PUT .../push/{provider} with the provider's credentials document (see
// push.APNsConfig, push.FCMConfig, push.WebhookConfig). The reply is redacted.
func (h *messagingAPI) setPush(w http.ResponseWriter, r *http.Request, start time.Time) error {
	app, err := h.a.adminApp(r)
	if err != nil {
		return err
	}
	provider := r.PathValue("provider")
	b, err := readBody(w, r)
	if err != nil {
		return err
	}
	cfg, err := push.ParseCredentials(provider, b)
	if err != nil {
		return withStatus(err, http.StatusBadRequest, nameIllegalArgument)
	}
	c := store.PushCredentials{App: app.Key, Provider: provider, Config: cfg, Updated: h.m.Now()}
	if err := h.m.Push.PutPushCredentials(r.Context(), c); err != nil {
		return errDB(err)
	}
	h.a.log.Info("api: push credentials set", "app", app.Key, "provider", provider) // never the credentials
	view := push.Redact(provider, cfg, msOf(c.Updated))
	redactConfigURLs(view.Config)
	writeJSON(w, http.StatusOK, respond(h.a, r, app, "put", "/push/"+provider, start, []PushCredentials{view}))
	return nil
}

func (h *messagingAPI) deletePush(w http.ResponseWriter, r *http.Request, start time.Time) error {
	app, err := h.a.adminApp(r)
	if err != nil {
		return err
	}
	provider := r.PathValue("provider")
	err = h.m.Push.DeletePushCredentials(r.Context(), app.Key, provider)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return protocol.NewError(protocol.CodeNotFound, "no %s credentials", safeName(provider))
	case err != nil:
		return errDB(err)
	}
	writeJSON(w, http.StatusOK, respond[PushCredentials](h.a, r, app, "delete", "/push/"+provider, start, nil))
	return nil
}

func (h *messagingAPI) listWebhooks(w http.ResponseWriter, r *http.Request, start time.Time) error {
	app, err := h.a.adminApp(r)
	if err != nil {
		return err
	}
	list, err := h.m.Webhooks.ListWebhookEndpoints(r.Context(), app.Key)
	if err != nil {
		return errDB(err)
	}
	out := make([]Webhook, len(list))
	for i, e := range list {
		out[i] = webhookOf(e, false)
	}
	writeJSON(w, http.StatusOK, respond(h.a, r, app, "get", "/webhooks", start, out))
	return nil
}

// setWebhook adds an endpoint, or updates the secret of the endpoint with the same url.
func (h *messagingAPI) setWebhook(w http.ResponseWriter, r *http.Request, start time.Time) error {
	app, err := h.a.adminApp(r)
	if err != nil {
		return err
	}
	var req NewWebhook
	if err := readJSON(w, r, &req); err != nil {
		return err
	}
	if u, err := url.Parse(req.URL); err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") || len(req.URL) > maxWebhookURL {
		return newHTTPError(http.StatusBadRequest, nameIllegalArgument, protocol.CodeUserIllegalArgument, "url must be an absolute http(s) URL of at most %d bytes", maxWebhookURL)
	}
	if req.Secret != "" && (len(req.Secret) < minWebhookSecret || len(req.Secret) > maxWebhookSecret) {
		return newHTTPError(http.StatusBadRequest, nameIllegalArgument, protocol.CodeUserIllegalArgument, "secret must have %d-%d characters", minWebhookSecret, maxWebhookSecret)
	}
	list, err := h.m.Webhooks.ListWebhookEndpoints(r.Context(), app.Key)
	if err != nil {
		return errDB(err)
	}
	now := h.m.Now()
	e := store.WebhookEndpoint{App: app.Key, URL: req.URL, Secret: req.Secret, Created: now, Updated: now}
	for _, old := range list {
		if old.URL == req.URL {
			e.ID, e.Created = old.ID, old.Created
			if e.Secret == "" {
				e.Secret = old.Secret
			}
		}
	}
	if e.ID == "" {
		if len(list) >= maxWebhooksPerApp {
			return newHTTPError(http.StatusBadRequest, nameIllegalArgument, protocol.CodeUserIllegalArgument, "at most %d webhooks per app", maxWebhooksPerApp)
		}
		e.ID = "wh_" + rand.Text()[:12]
	}
	generated := e.Secret == ""
	if generated {
		e.Secret = "whsec_" + rand.Text()
	}
	if err := h.m.Webhooks.PutWebhookEndpoint(r.Context(), e); err != nil {
		return errDB(err)
	}
	h.a.log.Info("api: webhook set", "app", app.Key, "id", e.ID)
	writeJSON(w, http.StatusOK, respond(h.a, r, app, "post", "/webhooks", start, []Webhook{webhookOf(e, generated)}))
	return nil
}

func (h *messagingAPI) deleteWebhook(w http.ResponseWriter, r *http.Request, start time.Time) error {
	app, err := h.a.adminApp(r)
	if err != nil {
		return err
	}
	err = h.m.Webhooks.DeleteWebhookEndpoint(r.Context(), app.Key, r.PathValue("id"))
	switch {
	case errors.Is(err, store.ErrNotFound):
		return protocol.NewError(protocol.CodeNotFound, "no such webhook")
	case err != nil:
		return errDB(err)
	}
	writeJSON(w, http.StatusOK, respond[Webhook](h.a, r, app, "delete", "/webhooks", start, nil))
	return nil
}

func (h *messagingAPI) deadLetters(w http.ResponseWriter, r *http.Request, start time.Time) error {
	app, err := h.a.adminApp(r)
	if err != nil {
		return err
	}
	limit, err := queryLimit(r, 100)
	if err != nil {
		return err
	}
	list, err := h.m.Webhooks.ListWebhookDeliveries(r.Context(), app.Key, store.DeliveryDead, limit)
	if err != nil {
		return errDB(err)
	}
	out := make([]DeadLetter, len(list))
	for i, d := range list {
		out[i] = DeadLetter{ID: d.ID, Endpoint: d.Endpoint, URL: redactURL(d.URL), EventID: d.EventID, EventType: d.EventType,
			CallID: d.CallID, Attempts: d.Attempts, LastError: d.LastError, Created: msOf(d.Created),
			DeadAt: msOf(d.DoneAt), Body: json.RawMessage(d.Body)}
	}
	writeJSON(w, http.StatusOK, respond(h.a, r, app, "get", "/webhooks/deadletters", start, out))
	return nil
}

func (h *messagingAPI) retryDead(w http.ResponseWriter, r *http.Request, start time.Time) error {
	app, err := h.a.adminApp(r)
	if err != nil {
		return err
	}
	n, err := h.m.Webhooks.RetryDeadWebhooks(r.Context(), app.Key, h.m.Now())
	if err != nil {
		return errDB(err)
	}
	if n > 0 && h.m.KickWebhooks != nil {
		h.m.KickWebhooks()
	}
	writeJSON(w, http.StatusOK, respond(h.a, r, app, "post", "/webhooks/deadletters/retry", start, []RetryResult{{Retried: n}}))
	return nil
}

// retryOneDead makes one dead letter pending again: {retried: 1}, or 404 when the id is
// not a dead letter of the app.
func (h *messagingAPI) retryOneDead(w http.ResponseWriter, r *http.Request, start time.Time) error {
	app, err := h.a.adminApp(r)
	if err != nil {
		return err
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return protocol.NewError(protocol.CodeNotFound, "no such dead letter")
	}
	ok, err := h.m.Webhooks.RetryDeadWebhook(r.Context(), app.Key, id, h.m.Now())
	switch {
	case err != nil:
		return errDB(err)
	case !ok:
		return protocol.NewError(protocol.CodeNotFound, "no such dead letter")
	}
	if h.m.KickWebhooks != nil {
		h.m.KickWebhooks()
	}
	writeJSON(w, http.StatusOK, respond(h.a, r, app, "post", "/webhooks/deadletters/"+r.PathValue("id")+"/retry", start, []RetryResult{{Retried: 1}}))
	return nil
}

func webhookOf(e store.WebhookEndpoint, withSecret bool) Webhook {
	out := Webhook{ID: e.ID, URL: redactURL(e.URL), Created: msOf(e.Created), Updated: msOf(e.Updated)}
	if withSecret {
		out.Secret = e.Secret
	}
	return out
}

// safeName quotes a path value for an error message, bounded.
func safeName(s string) string {
	if len(s) > 32 {
		s = s[:32]
	}
	return strconv.Quote(s)
}
