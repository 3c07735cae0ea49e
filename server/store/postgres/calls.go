package postgres

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/duet-rtc/duet/server/store"
	"github.com/duet-rtc/duet/server/store/internal/codec"
)

const callColumns = `app, id, caller, caller_device, callee, callee_device, type, ext, record,
	merge_stream, invited_at, ringing_at, connected_at, accepted_at, ended_at, end_reason,
	ended_by, connect_type, server_video_id`

var upsertCallSQL = `INSERT INTO calls(` + callColumns + `) VALUES (` + placeholders(19) + `)
	ON CONFLICT (app, id) DO UPDATE SET ` + excluded(callColumns)

// addCall queues the upsert of one call record.
func (q *batch) addCall(c *store.CallRecord) {
	q.add(fmt.Sprintf("save call %q", c.ID), upsertCallSQL, c.App, c.ID, c.Caller, c.CallerDevice, c.Callee,
		c.CalleeDevice, c.Type, c.Ext, c.Record, c.MergeStream, codec.Millis(c.InvitedAt), codec.Millis(c.RingingAt),
		codec.Millis(c.ConnectedAt), codec.Millis(c.AcceptedAt), codec.Millis(c.EndedAt), c.EndReason, c.EndedBy,
		c.ConnectType, c.ServerVideoID)
}

// SaveCalls inserts or replaces the records, keyed by (App, ID), in one transaction and
// one round trip.
func (s *Store) SaveCalls(ctx context.Context, calls []store.CallRecord) error {
	if len(calls) == 0 {
		return nil
	}
	return s.inTx(ctx, func(tx pgx.Tx) error {
		var q batch
		for i := range calls {
			q.addCall(&calls[i])
		}
		_, err := q.run(ctx, tx)
		return err
	})
}

// GetCall returns one call record or store.ErrNotFound.
func (s *Store) GetCall(ctx context.Context, app, id string) (store.CallRecord, error) {
	c, err := scanCall(s.pool.QueryRow(ctx, `SELECT `+callColumns+` FROM calls WHERE app = $1 AND id = $2`, app, id))
	if err != nil {
		return store.CallRecord{}, notFoundIfNoRows(err, fmt.Sprintf("call %q in app %q", id, app))
	}
	return c, nil
}

// ListCalls returns the records of app that match f, newest (by InvitedAt, then ID) first,
// and the cursor of the next page, "" on the last page. A cursor that this store did not
// produce yields an error wrapping store.ErrNotFound.
func (s *Store) ListCalls(ctx context.Context, app string, f store.CallFilter) ([]store.CallRecord, string, error) {
	limit := codec.PageLimit(f.Limit)
	args := []any{app, limit + 1} // one more tells whether there is a next page
	if f.User != "" {
		args = append(args, f.User) // $3
	}
	// The conditions both branches share: time range and keyset position.
	var cond strings.Builder
	if !f.Since.IsZero() {
		args = append(args, codec.Millis(f.Since))
		fmt.Fprintf(&cond, ` AND invited_at >= $%d`, len(args))
	}
	if !f.Until.IsZero() {
		args = append(args, codec.Millis(f.Until))
		fmt.Fprintf(&cond, ` AND invited_at < $%d`, len(args))
	}
	if f.Cursor != "" {
		at, id, ok := codec.DecodeCursor(f.Cursor)
		if !ok {
			return nil, "", fmt.Errorf("postgres: bad call cursor: %w", store.ErrNotFound)
		}
		args = append(args, at, id)
		fmt.Fprintf(&cond, ` AND (invited_at, id) < ($%d, $%d)`, len(args)-1, len(args))
	}
	const order = ` ORDER BY invited_at DESC, id DESC LIMIT $2`
	var q string
	if f.User == "" {
		q = `SELECT ` + callColumns + ` FROM calls WHERE app = $1` + cond.String() + order
	} else {
		// One branch per index (caller, callee), each already in order, merged; a single
		// "caller = $3 OR callee = $3" would sort the user's whole history on every page.
		q = `(SELECT ` + callColumns + ` FROM calls WHERE app = $1 AND caller = $3` + cond.String() + order + `)
			UNION ALL
			(SELECT ` + callColumns + ` FROM calls WHERE app = $1 AND callee = $3 AND caller <> $3` + cond.String() + order + `)` + order
	}
	rows, err := s.pool.Query(ctx, q, args...)
	calls, err := collect(rows, err, "list calls", scanCall)
	if err != nil {
		return nil, "", err
	}
	calls, next := codec.NextPage(calls, limit, func(r store.CallRecord) (int64, string) { return codec.Millis(r.InvitedAt), r.ID })
	return calls, next, nil
}

func scanCall(r row) (store.CallRecord, error) {
	var c store.CallRecord
	var invited, ringing, connected, accepted, ended int64
	err := r.Scan(&c.App, &c.ID, &c.Caller, &c.CallerDevice, &c.Callee, &c.CalleeDevice, &c.Type,
		&c.Ext, &c.Record, &c.MergeStream, &invited, &ringing, &connected, &accepted, &ended, &c.EndReason,
		&c.EndedBy, &c.ConnectType, &c.ServerVideoID)
	c.InvitedAt, c.RingingAt, c.ConnectedAt = codec.Time(invited), codec.Time(ringing), codec.Time(connected)
	c.AcceptedAt, c.EndedAt = codec.Time(accepted), codec.Time(ended)
	return c, err
}
