package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/duet-rtc/duet/server/store"
	"github.com/duet-rtc/duet/server/store/internal/codec"
)

const liveCallColumns = `app, id, caller, caller_device, callee, type, ext, record, merge_stream,
	state, answered, legs, ice, invited_at, ringing_at, connected_at, accepted_at, connect_type,
	ring_deadline, caller_grace, callee_grace, events, updated`

var upsertLiveCallSQL = `INSERT INTO live_calls(` + liveCallColumns + `) VALUES (` + placeholders(23) + `)
	ON CONFLICT (app, id) DO UPDATE SET ` + excluded(liveCallColumns)

// CommitCalls writes one group commit of call steps in one transaction, sent in one round
// trip: saved live calls, then ended calls (record upserted, live row deleted), then the
// webhook deliveries of the events, in order.
func (s *Store) CommitCalls(ctx context.Context, b store.CallBatch, now time.Time) error {
	if b.Empty() {
		return nil
	}
	return s.inTx(ctx, func(tx pgx.Tx) error {
		if f := b.Fence; f != nil {
			var held bool
			err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory'
				AND classid = $1::int::oid AND objid = $2::int::oid AND objsubid = 2 AND pid = $3 AND granted)`,
				f.Class, f.Key, int64(f.PID)).Scan(&held)
			if err != nil {
				return fmt.Errorf("postgres: commit fence: %w", err)
			}
			if !held {
				return store.ErrFenced
			}
		}
		var q batch
		for i := range b.Save {
			c := &b.Save[i]
			q.add(fmt.Sprintf("save live call %q", c.ID), upsertLiveCallSQL, c.App, c.ID, c.Caller, c.CallerDevice,
				c.Callee, c.Type, c.Ext, c.Record, c.MergeStream, c.State, c.Answered, nonNil(c.Legs), nonNil(c.ICE),
				codec.Millis(c.InvitedAt), codec.Millis(c.RingingAt), codec.Millis(c.ConnectedAt), codec.Millis(c.AcceptedAt),
				c.ConnectType, codec.Millis(c.RingDeadline), codec.Millis(c.CallerGrace), codec.Millis(c.CalleeGrace),
				c.Events, codec.Millis(c.Updated))
		}
		for i := range b.End {
			c := &b.End[i]
			q.addCall(c)
			q.add(fmt.Sprintf("delete live call %q", c.ID), `DELETE FROM live_calls WHERE app = $1 AND id = $2`, c.App, c.ID)
		}
		q.addEvents(b.Events, now)
		_, err := q.run(ctx, tx)
		return err
	})
}

// LiveCalls returns every live call, oldest invite first.
func (s *Store) LiveCalls(ctx context.Context) ([]store.LiveCall, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+liveCallColumns+` FROM live_calls ORDER BY invited_at, app, id`)
	return collect(rows, err, "live calls", func(r row) (store.LiveCall, error) {
		var c store.LiveCall
		var invited, ringing, connected, accepted, ring, cg, eg, updated int64
		err := r.Scan(&c.App, &c.ID, &c.Caller, &c.CallerDevice, &c.Callee, &c.Type, &c.Ext, &c.Record,
			&c.MergeStream, &c.State, &c.Answered, &c.Legs, &c.ICE, &invited, &ringing, &connected, &accepted,
			&c.ConnectType, &ring, &cg, &eg, &c.Events, &updated)
		c.InvitedAt, c.RingingAt, c.ConnectedAt, c.AcceptedAt = codec.Time(invited), codec.Time(ringing), codec.Time(connected), codec.Time(accepted)
		c.RingDeadline, c.CallerGrace, c.CalleeGrace, c.Updated = codec.Time(ring), codec.Time(cg), codec.Time(eg), codec.Time(updated)
		return c, err
	})
}

// nonNil stores a nil blob as an empty one (the columns are NOT NULL; pgx sends nil as NULL).
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
