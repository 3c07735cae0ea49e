package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/duet-rtc/duet/server/store"
	"github.com/duet-rtc/duet/server/store/internal/codec"
)

var _ store.LiveCallStore = (*Store)(nil)

const liveCallColumns = `app, id, caller, caller_device, callee, type, ext, record, merge_stream,
	state, answered, legs, ice, invited_at, ringing_at, connected_at, accepted_at, connect_type,
	ring_deadline, caller_grace, callee_grace, events, updated`

const upsertLiveCallSQL = `INSERT OR REPLACE INTO live_calls(` + liveCallColumns + `)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

const deleteLiveCallSQL = `DELETE FROM live_calls WHERE app = ? AND id = ?`

const enqueueWebhookSQL = `INSERT INTO webhook_outbox(app, endpoint, call_id, event_id, event_type,
		body, state, attempts, next_at, last_error, created, done_at)
	SELECT app, id, ?, ?, ?, ?, 0, 0, ?, '', ?, 0 FROM webhook_endpoints WHERE app = ? ORDER BY created, id`

// CommitCalls writes one group commit of call steps in one transaction.
func (s *Store) CommitCalls(ctx context.Context, b store.CallBatch, now time.Time) error {
	if b.Fence != nil {
		return errors.New("sqlite: a fenced commit needs PostgreSQL's advisory locks")
	}
	if b.Empty() {
		return nil
	}
	n := 0
	gen := s.hookless.generation()
	var none []string
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := saveLiveCalls(ctx, tx.StmtContext(ctx, s.upsertLive), b.Save); err != nil {
			return err
		}
		if err := endLiveCalls(ctx, tx.StmtContext(ctx, s.upsertCall), tx.StmtContext(ctx, s.deleteLive), b.End); err != nil {
			return err
		}
		var err error
		n, none, err = s.enqueueWebhooks(ctx, tx.StmtContext(ctx, s.enqueueHook), b.Events, now)
		return err
	})
	if err == nil {
		s.enqueued.Add(uint64(n))
		s.hookless.learn(gen, none)
	}
	return err
}

func saveLiveCalls(ctx context.Context, stmt *sql.Stmt, calls []store.LiveCall) error {
	for i := range calls {
		c := &calls[i]
		if _, err := stmt.ExecContext(ctx, c.App, c.ID, c.Caller, c.CallerDevice, c.Callee, c.Type, c.Ext,
			boolInt(c.Record), boolInt(c.MergeStream), c.State, c.Answered, nonNil(c.Legs), nonNil(c.ICE),
			codec.Millis(c.InvitedAt), codec.Millis(c.RingingAt), codec.Millis(c.ConnectedAt), codec.Millis(c.AcceptedAt), c.ConnectType,
			codec.Millis(c.RingDeadline), codec.Millis(c.CallerGrace), codec.Millis(c.CalleeGrace), c.Events, codec.Millis(c.Updated)); err != nil {
			return fmt.Errorf("sqlite: save live call %q: %w", c.ID, err)
		}
	}
	return nil
}

func endLiveCalls(ctx context.Context, ins, del *sql.Stmt, recs []store.CallRecord) error {
	for i := range recs {
		c := &recs[i]
		if _, err := ins.ExecContext(ctx, c.App, c.ID, c.Caller, c.CallerDevice, c.Callee,
			c.CalleeDevice, c.Type, c.Ext, boolInt(c.Record), boolInt(c.MergeStream),
			codec.Millis(c.InvitedAt), codec.Millis(c.RingingAt), codec.Millis(c.ConnectedAt), codec.Millis(c.AcceptedAt), codec.Millis(c.EndedAt),
			c.EndReason, c.EndedBy, c.ConnectType, c.ServerVideoID); err != nil {
			return fmt.Errorf("sqlite: save call %q: %w", c.ID, err)
		}
		if _, err := del.ExecContext(ctx, c.App, c.ID); err != nil {
			return fmt.Errorf("sqlite: delete live call %q: %w", c.ID, err)
		}
	}
	return nil
}

// enqueueWebhooks fans every event out to its app's endpoints (one INSERT ... SELECT each,
// so the outbox ids follow the events' order), but for apps known to have none, and returns
// how many deliveries it added and the apps it found without endpoints.
func (s *Store) enqueueWebhooks(ctx context.Context, stmt *sql.Stmt, events []store.WebhookEvent, now time.Time) (int, []string, error) {
	n := 0
	var none []string
	for _, ev := range events {
		if s.hookless.has(ev.App) {
			continue
		}
		res, err := stmt.ExecContext(ctx, ev.CallID, ev.EventID, ev.Type, ev.Body, codec.Millis(now), codec.Millis(now), ev.App)
		if err != nil {
			return n, nil, fmt.Errorf("sqlite: enqueue webhook event %q: %w", ev.EventID, err)
		}
		k, _ := res.RowsAffected()
		n += int(k)
		if k == 0 {
			none = append(none, ev.App)
		}
	}
	return n, none, nil
}

// LiveCalls returns every live call, oldest invite first.
func (s *Store) LiveCalls(ctx context.Context) ([]store.LiveCall, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+liveCallColumns+` FROM live_calls ORDER BY invited_at, app, id`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: live calls: %w", err)
	}
	defer rows.Close()
	var out []store.LiveCall
	for rows.Next() {
		var c store.LiveCall
		var record, merge int
		var invited, ringing, connected, accepted, ring, cg, eg, updated int64
		if err := rows.Scan(&c.App, &c.ID, &c.Caller, &c.CallerDevice, &c.Callee, &c.Type, &c.Ext, &record,
			&merge, &c.State, &c.Answered, &c.Legs, &c.ICE, &invited, &ringing, &connected, &accepted,
			&c.ConnectType, &ring, &cg, &eg, &c.Events, &updated); err != nil {
			return nil, fmt.Errorf("sqlite: live calls: %w", err)
		}
		c.Record, c.MergeStream = record != 0, merge != 0
		c.InvitedAt, c.RingingAt, c.ConnectedAt, c.AcceptedAt = codec.Time(invited), codec.Time(ringing), codec.Time(connected), codec.Time(accepted)
		c.RingDeadline, c.CallerGrace, c.CalleeGrace, c.Updated = codec.Time(ring), codec.Time(cg), codec.Time(eg), codec.Time(updated)
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: live calls: %w", err)
	}
	return out, nil
}

// nonNil stores a nil blob as an empty one (the columns are NOT NULL).
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
