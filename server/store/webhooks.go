package store

import (
	"context"
	"time"
)

// WebhookEndpoint is a URL of an app that receives its call events, signed with Secret.
type WebhookEndpoint struct {
	App     string
	ID      string
	URL     string
	Secret  string
	Created time.Time
	Updated time.Time
}

// WebhookEvent is one call event to deliver to every endpoint of its app.
type WebhookEvent struct {
	App     string
	CallID  string
	EventID string
	Type    string
	Body    []byte // the signed JSON body
}

// States of a webhook delivery.
const (
	DeliveryPending   = 0 // waiting for its first or next attempt
	DeliveryDelivered = 1 // the endpoint answered 2xx
	DeliveryDead      = 2 // gave up after the maximum attempts: a dead letter
)

// WebhookDelivery is one event on its way to one endpoint: a row of the outbox. IDs grow
// in enqueue order.
type WebhookDelivery struct {
	ID        int64
	App       string
	Endpoint  string // WebhookEndpoint.ID
	URL       string // the endpoint's current URL and secret
	Secret    string
	CallID    string
	EventID   string
	EventType string
	Body      []byte
	State     int
	Attempts  int
	NextAt    time.Time
	LastError string
	Created   time.Time
	DoneAt    time.Time // delivered or dead at
}

// WebhookStore keeps webhook endpoints and the outbox of deliveries.
type WebhookStore interface {
	// PutWebhookEndpoint inserts or replaces the endpoint (App, ID). ErrDuplicate when
	// another endpoint of the app has the URL; ErrNotFound when the app does not exist.
	PutWebhookEndpoint(ctx context.Context, e WebhookEndpoint) error
	// ListWebhookEndpoints returns the app's endpoints by creation.
	ListWebhookEndpoints(ctx context.Context, app string) ([]WebhookEndpoint, error)
	// DeleteWebhookEndpoint removes an endpoint and its queued deliveries; ErrNotFound if
	// there is none.
	DeleteWebhookEndpoint(ctx context.Context, app, id string) error

	// EnqueueWebhookEvents adds, in one transaction and in order, one pending delivery per
	// endpoint of each event's app, due at now. It returns how many deliveries it added.
	EnqueueWebhookEvents(ctx context.Context, events []WebhookEvent, now time.Time) (int, error)
	// DueWebhookDeliveries returns up to limit pending deliveries due at now, oldest first,
	// each the oldest pending delivery of its (endpoint, call): a later event of a call waits
	// for the earlier ones.
	DueWebhookDeliveries(ctx context.Context, now time.Time, limit int) ([]WebhookDelivery, error)
	// NextWebhookDue returns when the earliest pending delivery that heads its (endpoint,
	// call) queue is due; ok false when none is pending.
	NextWebhookDue(ctx context.Context) (at time.Time, ok bool, err error)
	// MarkWebhookDelivered records a successful delivery.
	MarkWebhookDelivered(ctx context.Context, id int64, at time.Time) error
	// MarkWebhookFailed records a failed attempt: the delivery's attempts and next attempt,
	// or the dead-letter state when dead.
	MarkWebhookFailed(ctx context.Context, id int64, attempts int, next time.Time, dead bool, lastError string, at time.Time) error
	// ListWebhookDeliveries returns up to limit deliveries of app in state, newest first.
	ListWebhookDeliveries(ctx context.Context, app string, state, limit int) ([]WebhookDelivery, error)
	// RetryDeadWebhooks makes the app's dead letters pending again, due at now, and returns
	// how many.
	RetryDeadWebhooks(ctx context.Context, app string, now time.Time) (int64, error)
	// RetryDeadWebhook makes one dead letter of the app pending again, due at now; false
	// when id is not a dead letter of app.
	RetryDeadWebhook(ctx context.Context, app string, id int64, now time.Time) (bool, error)
	// PruneWebhookDeliveries deletes deliveries that were delivered before, and returns how
	// many.
	PruneWebhookDeliveries(ctx context.Context, before time.Time) (int64, error)
}
