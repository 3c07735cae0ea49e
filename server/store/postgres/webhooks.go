package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/duet-rtc/duet/server/store"
	"github.com/duet-rtc/duet/server/store/internal/codec"
)

var _ store.WebhookStore = (*Store)(nil)

// maxWebhookPage bounds one page of deliveries.
const maxWebhookPage = 1000

// outboxLock is the key of the transaction-level advisory lock that writers of the outbox
// hold from their first insert to their commit. Without it two transactions could commit
// in the opposite order of their identity values, and a reader could see a later id before
// an earlier one appears; with it ids follow commit order, as in SQLite.
const outboxLock = 0x64756574_6f757462 // "duetoutb"

// PutWebhookEndpoint inserts or replaces an endpoint, keeping its creation time.
func (s *Store) PutWebhookEndpoint(ctx context.Context, e store.WebhookEndpoint) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO webhook_endpoints(app, id, url, secret, created, updated)
		VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (app, id) DO UPDATE SET url = excluded.url, secret = excluded.secret, updated = excluded.updated`,
		e.App, e.ID, e.URL, e.Secret, codec.Millis(e.Created), codec.Millis(e.Updated))
	switch {
	case isDuplicate(err):
		return fmt.Errorf("postgres: webhook url in app %q: %w", e.App, store.ErrDuplicate)
	case isForeignKey(err):
		return fmt.Errorf("postgres: app %q: %w", e.App, store.ErrNotFound)
	case err != nil:
		return fmt.Errorf("postgres: put webhook endpoint: %w", err)
	}
	return nil
}

// ListWebhookEndpoints returns the app's endpoints, oldest first.
func (s *Store) ListWebhookEndpoints(ctx context.Context, app string) ([]store.WebhookEndpoint, error) {
	rows, err := s.pool.Query(ctx, `SELECT app, id, url, secret, created, updated FROM webhook_endpoints
		WHERE app = $1 ORDER BY created, id`, app)
	return collect(rows, err, "list webhook endpoints", func(r row) (store.WebhookEndpoint, error) {
		var e store.WebhookEndpoint
		var created, updated int64
		err := r.Scan(&e.App, &e.ID, &e.URL, &e.Secret, &created, &updated)
		e.Created, e.Updated = codec.Time(created), codec.Time(updated)
		return e, err
	})
}

// DeleteWebhookEndpoint removes the endpoint; the foreign key drops its deliveries.
func (s *Store) DeleteWebhookEndpoint(ctx context.Context, app, id string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM webhook_endpoints WHERE app = $1 AND id = $2`, app, id)
	return requireOne(tag, err, "delete webhook endpoint")
}

const enqueueWebhookSQL = `INSERT INTO webhook_outbox(app, endpoint, call_id, event_id, event_type,
		body, state, attempts, next_at, last_error, created, done_at)
	SELECT app, id, $1, $2, $3, $4, 0, 0, $5, '', $5, 0 FROM webhook_endpoints WHERE app = $6 ORDER BY created, id`

// addEvents queues the outbox lock and then one INSERT ... SELECT per event, which fans it
// out to its app's endpoints: ids follow the events' order, then the endpoints' creation.
func (q *batch) addEvents(events []store.WebhookEvent, now time.Time) {
	if len(events) == 0 {
		return
	}
	q.add("lock webhook outbox", `SELECT pg_advisory_xact_lock($1)`, int64(outboxLock))
	for _, ev := range events {
		q.add(fmt.Sprintf("enqueue webhook event %q", ev.EventID), enqueueWebhookSQL,
			ev.CallID, ev.EventID, ev.Type, ev.Body, codec.Millis(now), ev.App)
	}
}

// EnqueueWebhookEvents fans every event out to its app's endpoints, all in one transaction.
func (s *Store) EnqueueWebhookEvents(ctx context.Context, events []store.WebhookEvent, now time.Time) (int, error) {
	if len(events) == 0 {
		return 0, nil
	}
	n := 0
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var q batch
		q.addEvents(events, now)
		affected, err := q.run(ctx, tx)
		if err != nil {
			return err
		}
		for _, k := range affected[1:] { // [0] is the lock
			n += int(k)
		}
		return nil
	})
	return n, err
}

const deliveryColumns = `o.id, o.app, o.endpoint, e.url, e.secret, o.call_id, o.event_id, o.event_type, o.body,
	o.state, o.attempts, o.next_at, o.last_error, o.created, o.done_at`

// DueWebhookDeliveries returns the due heads of the (endpoint, call) queues.
func (s *Store) DueWebhookDeliveries(ctx context.Context, now time.Time, limit int) ([]store.WebhookDelivery, error) {
	return s.queryDeliveries(ctx, `SELECT `+deliveryColumns+` FROM webhook_outbox o
		JOIN webhook_endpoints e ON e.app = o.app AND e.id = o.endpoint
		WHERE o.state = 0 AND o.next_at <= $1
		AND NOT EXISTS (SELECT 1 FROM webhook_outbox p WHERE p.state = 0 AND p.app = o.app
			AND p.endpoint = o.endpoint AND p.call_id = o.call_id AND p.id < o.id)
		ORDER BY o.id LIMIT $2`, codec.Millis(now), min(max(limit, 1), maxWebhookPage))
}

// NextWebhookDue returns the earliest next_at of the pending deliveries that head their
// (endpoint, call) queue: the others wait for their head, whatever their own next_at.
func (s *Store) NextWebhookDue(ctx context.Context) (time.Time, bool, error) {
	var next *int64
	if err := s.pool.QueryRow(ctx, `SELECT min(o.next_at) FROM webhook_outbox o WHERE o.state = 0
		AND NOT EXISTS (SELECT 1 FROM webhook_outbox p WHERE p.state = 0 AND p.app = o.app
			AND p.endpoint = o.endpoint AND p.call_id = o.call_id AND p.id < o.id)`).Scan(&next); err != nil {
		return time.Time{}, false, fmt.Errorf("postgres: next webhook due: %w", err)
	}
	if next == nil {
		return time.Time{}, false, nil
	}
	return time.UnixMilli(*next).UTC(), true, nil
}

// MarkWebhookDelivered records a delivery.
func (s *Store) MarkWebhookDelivered(ctx context.Context, id int64, at time.Time) error {
	if _, err := s.pool.Exec(ctx, `UPDATE webhook_outbox SET state = 1, attempts = attempts + 1, done_at = $1,
		last_error = '' WHERE id = $2 AND state = 0`, codec.Millis(at), id); err != nil {
		return fmt.Errorf("postgres: mark webhook delivered: %w", err)
	}
	return nil
}

// MarkWebhookFailed records a failed attempt.
func (s *Store) MarkWebhookFailed(ctx context.Context, id int64, attempts int, next time.Time, dead bool, lastError string, at time.Time) error {
	state, doneAt := store.DeliveryPending, int64(0)
	if dead {
		state, doneAt = store.DeliveryDead, codec.Millis(at)
	}
	if _, err := s.pool.Exec(ctx, `UPDATE webhook_outbox SET state = $1, attempts = $2, next_at = $3, last_error = $4,
		done_at = $5 WHERE id = $6 AND state = 0`, state, attempts, codec.Millis(next), lastError, doneAt, id); err != nil {
		return fmt.Errorf("postgres: mark webhook failed: %w", err)
	}
	return nil
}

// ListWebhookDeliveries returns the app's deliveries in state, newest first.
func (s *Store) ListWebhookDeliveries(ctx context.Context, app string, state, limit int) ([]store.WebhookDelivery, error) {
	return s.queryDeliveries(ctx, `SELECT `+deliveryColumns+` FROM webhook_outbox o
		JOIN webhook_endpoints e ON e.app = o.app AND e.id = o.endpoint
		WHERE o.app = $1 AND o.state = $2 ORDER BY o.id DESC LIMIT $3`, app, state, min(max(limit, 1), maxWebhookPage))
}

// RetryDeadWebhooks makes the app's dead letters pending again with a fresh attempt count.
func (s *Store) RetryDeadWebhooks(ctx context.Context, app string, now time.Time) (int64, error) {
	tag, err := s.pool.Exec(ctx, `UPDATE webhook_outbox SET state = 0, attempts = 0, next_at = $1, done_at = 0
		WHERE app = $2 AND state = 2`, codec.Millis(now), app)
	if err != nil {
		return 0, fmt.Errorf("postgres: retry dead webhooks: %w", err)
	}
	return tag.RowsAffected(), nil
}

// RetryDeadWebhook makes one dead letter pending again.
func (s *Store) RetryDeadWebhook(ctx context.Context, app string, id int64, now time.Time) (bool, error) {
	tag, err := s.pool.Exec(ctx, `UPDATE webhook_outbox SET state = 0, attempts = 0, next_at = $1, done_at = 0
		WHERE app = $2 AND id = $3 AND state = 2`, codec.Millis(now), app, id)
	if err != nil {
		return false, fmt.Errorf("postgres: retry a dead webhook: %w", err)
	}
	return tag.RowsAffected() == 1, nil
}

// PruneWebhookDeliveries deletes deliveries delivered before.
func (s *Store) PruneWebhookDeliveries(ctx context.Context, before time.Time) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM webhook_outbox WHERE state = 1 AND done_at < $1`, codec.Millis(before))
	if err != nil {
		return 0, fmt.Errorf("postgres: prune webhook deliveries: %w", err)
	}
	return tag.RowsAffected(), nil
}

func (s *Store) queryDeliveries(ctx context.Context, q string, args ...any) ([]store.WebhookDelivery, error) {
	rows, err := s.pool.Query(ctx, q, args...)
	return collect(rows, err, "webhook deliveries", func(r row) (store.WebhookDelivery, error) {
		var d store.WebhookDelivery
		var next, created, done int64
		err := r.Scan(&d.ID, &d.App, &d.Endpoint, &d.URL, &d.Secret, &d.CallID, &d.EventID, &d.EventType,
			&d.Body, &d.State, &d.Attempts, &next, &d.LastError, &created, &done)
		d.NextAt, d.Created, d.DoneAt = codec.Time(next), codec.Time(created), codec.Time(done)
		return d, err
	})
}
