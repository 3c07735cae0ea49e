package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/duet-rtc/duet/server/store"
	"github.com/duet-rtc/duet/server/store/internal/codec"
)

var _ store.WebhookStore = (*Store)(nil)

// maxWebhookPage bounds one page of deliveries.
const maxWebhookPage = 1000

// PutWebhookEndpoint inserts or replaces an endpoint, keeping its creation time.
func (s *Store) PutWebhookEndpoint(ctx context.Context, e store.WebhookEndpoint) error {
	defer s.hookless.forget()
	_, err := s.w.ExecContext(ctx, `INSERT INTO webhook_endpoints(app, id, url, secret, created, updated)
		VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT(app, id) DO UPDATE SET url = excluded.url, secret = excluded.secret, updated = excluded.updated`,
		e.App, e.ID, e.URL, e.Secret, codec.Millis(e.Created), codec.Millis(e.Updated))
	switch {
	case isDuplicate(err):
		return fmt.Errorf("sqlite: webhook url in app %q: %w", e.App, store.ErrDuplicate)
	case isForeignKey(err):
		return fmt.Errorf("sqlite: app %q: %w", e.App, store.ErrNotFound)
	case err != nil:
		return fmt.Errorf("sqlite: put webhook endpoint: %w", err)
	}
	return nil
}

// ListWebhookEndpoints returns the app's endpoints, oldest first.
func (s *Store) ListWebhookEndpoints(ctx context.Context, app string) ([]store.WebhookEndpoint, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT app, id, url, secret, created, updated FROM webhook_endpoints
		WHERE app = ? ORDER BY created, id`, app)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list webhook endpoints: %w", err)
	}
	defer rows.Close()
	var out []store.WebhookEndpoint
	for rows.Next() {
		var e store.WebhookEndpoint
		var created, updated int64
		if err := rows.Scan(&e.App, &e.ID, &e.URL, &e.Secret, &created, &updated); err != nil {
			return nil, fmt.Errorf("sqlite: list webhook endpoints: %w", err)
		}
		e.Created, e.Updated = codec.Time(created), codec.Time(updated)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list webhook endpoints: %w", err)
	}
	return out, nil
}

// DeleteWebhookEndpoint removes the endpoint; the foreign key drops its deliveries.
func (s *Store) DeleteWebhookEndpoint(ctx context.Context, app, id string) error {
	defer s.hookless.forget()
	res, err := s.w.ExecContext(ctx, `DELETE FROM webhook_endpoints WHERE app = ? AND id = ?`, app, id)
	return requireOne(res, err, "delete webhook endpoint")
}

// EnqueueWebhookEvents adds the events' deliveries in one transaction.
func (s *Store) EnqueueWebhookEvents(ctx context.Context, events []store.WebhookEvent, now time.Time) (int, error) {
	if len(events) == 0 {
		return 0, nil
	}
	n := 0
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		n, _, err = s.enqueueWebhooks(ctx, tx.StmtContext(ctx, s.enqueueHook), events, now)
		return err
	})
	if err == nil {
		s.enqueued.Add(uint64(n))
	}
	return n, err
}

// WebhooksEnqueued counts the webhook deliveries committed through this store since it was
// opened. The server wakes its outbox after a batch of call steps only when it grew: with
// no endpoint configured, looking for due deliveries after every batch was a sixth of a
// busy server's CPU.
func (s *Store) WebhooksEnqueued() uint64 { return s.enqueued.Load() }

const deliveryColumns = `o.id, o.app, o.endpoint, e.url, e.secret, o.call_id, o.event_id, o.event_type, o.body,
	o.state, o.attempts, o.next_at, o.last_error, o.created, o.done_at`

// DueWebhookDeliveries returns the due heads of the (endpoint, call) queues.
func (s *Store) DueWebhookDeliveries(ctx context.Context, now time.Time, limit int) ([]store.WebhookDelivery, error) {
	limit = min(max(limit, 1), maxWebhookPage)
	return s.queryDeliveries(ctx, `SELECT `+deliveryColumns+` FROM webhook_outbox o
		JOIN webhook_endpoints e ON e.app = o.app AND e.id = o.endpoint
		WHERE o.state = 0 AND o.next_at <= ?
		AND NOT EXISTS (SELECT 1 FROM webhook_outbox p WHERE p.state = 0 AND p.app = o.app
			AND p.endpoint = o.endpoint AND p.call_id = o.call_id AND p.id < o.id)
		ORDER BY o.id LIMIT ?`, codec.Millis(now), limit)
}

// NextWebhookDue returns the earliest next_at of the pending deliveries that head their
// (endpoint, call) queue: the others wait for their head, whatever their own next_at.
func (s *Store) NextWebhookDue(ctx context.Context) (time.Time, bool, error) {
	var next sql.NullInt64
	if err := s.r.QueryRowContext(ctx, `SELECT min(o.next_at) FROM webhook_outbox o WHERE o.state = 0
		AND NOT EXISTS (SELECT 1 FROM webhook_outbox p WHERE p.state = 0 AND p.app = o.app
			AND p.endpoint = o.endpoint AND p.call_id = o.call_id AND p.id < o.id)`).Scan(&next); err != nil {
		return time.Time{}, false, fmt.Errorf("sqlite: next webhook due: %w", err)
	}
	if !next.Valid {
		return time.Time{}, false, nil
	}
	return time.UnixMilli(next.Int64).UTC(), true, nil
}

// MarkWebhookDelivered records a delivery.
func (s *Store) MarkWebhookDelivered(ctx context.Context, id int64, at time.Time) error {
	_, err := s.w.ExecContext(ctx, `UPDATE webhook_outbox SET state = 1, attempts = attempts + 1, done_at = ?,
		last_error = '' WHERE id = ? AND state = 0`, codec.Millis(at), id)
	if err != nil {
		return fmt.Errorf("sqlite: mark webhook delivered: %w", err)
	}
	return nil
}

// MarkWebhookFailed records a failed attempt.
func (s *Store) MarkWebhookFailed(ctx context.Context, id int64, attempts int, next time.Time, dead bool, lastError string, at time.Time) error {
	state, doneAt := store.DeliveryPending, int64(0)
	if dead {
		state, doneAt = store.DeliveryDead, codec.Millis(at)
	}
	_, err := s.w.ExecContext(ctx, `UPDATE webhook_outbox SET state = ?, attempts = ?, next_at = ?, last_error = ?,
		done_at = ? WHERE id = ? AND state = 0`, state, attempts, codec.Millis(next), lastError, doneAt, id)
	if err != nil {
		return fmt.Errorf("sqlite: mark webhook failed: %w", err)
	}
	return nil
}

// ListWebhookDeliveries returns the app's deliveries in state, newest first.
func (s *Store) ListWebhookDeliveries(ctx context.Context, app string, state, limit int) ([]store.WebhookDelivery, error) {
	limit = min(max(limit, 1), maxWebhookPage)
	return s.queryDeliveries(ctx, `SELECT `+deliveryColumns+` FROM webhook_outbox o
		JOIN webhook_endpoints e ON e.app = o.app AND e.id = o.endpoint
		WHERE o.app = ? AND o.state = ? ORDER BY o.id DESC LIMIT ?`, app, state, limit)
}

// RetryDeadWebhooks makes the app's dead letters pending again with a fresh attempt count.
func (s *Store) RetryDeadWebhooks(ctx context.Context, app string, now time.Time) (int64, error) {
	res, err := s.w.ExecContext(ctx, `UPDATE webhook_outbox SET state = 0, attempts = 0, next_at = ?, done_at = 0
		WHERE app = ? AND state = 2`, codec.Millis(now), app)
	if err != nil {
		return 0, fmt.Errorf("sqlite: retry dead webhooks: %w", err)
	}
	return res.RowsAffected()
}

// RetryDeadWebhook makes one dead letter pending again.
func (s *Store) RetryDeadWebhook(ctx context.Context, app string, id int64, now time.Time) (bool, error) {
	res, err := s.w.ExecContext(ctx, `UPDATE webhook_outbox SET state = 0, attempts = 0, next_at = ?, done_at = 0
		WHERE app = ? AND id = ? AND state = 2`, codec.Millis(now), app, id)
	if err != nil {
		return false, fmt.Errorf("sqlite: retry a dead webhook: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// PruneWebhookDeliveries deletes deliveries delivered before.
func (s *Store) PruneWebhookDeliveries(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.w.ExecContext(ctx, `DELETE FROM webhook_outbox WHERE state = 1 AND done_at < ?`, codec.Millis(before))
	if err != nil {
		return 0, fmt.Errorf("sqlite: prune webhook deliveries: %w", err)
	}
	return res.RowsAffected()
}

func (s *Store) queryDeliveries(ctx context.Context, q string, args ...any) ([]store.WebhookDelivery, error) {
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: webhook deliveries: %w", err)
	}
	defer rows.Close()
	var out []store.WebhookDelivery
	for rows.Next() {
		var d store.WebhookDelivery
		var next, created, done int64
		if err := rows.Scan(&d.ID, &d.App, &d.Endpoint, &d.URL, &d.Secret, &d.CallID, &d.EventID, &d.EventType,
			&d.Body, &d.State, &d.Attempts, &next, &d.LastError, &created, &done); err != nil {
			return nil, fmt.Errorf("sqlite: webhook deliveries: %w", err)
		}
		d.NextAt, d.Created, d.DoneAt = codec.Time(next), codec.Time(created), codec.Time(done)
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: webhook deliveries: %w", err)
	}
	return out, nil
}
