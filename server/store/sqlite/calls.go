package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/duet-rtc/duet/server/store"
	"github.com/duet-rtc/duet/server/store/internal/codec"
)

const callColumns = `app, id, caller, caller_device, callee, callee_device, type, ext, record,
	merge_stream, invited_at, ringing_at, connected_at, accepted_at, ended_at, end_reason,
	ended_by, connect_type, server_video_id`

const upsertCallSQL = `INSERT INTO calls(` + callColumns + `)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
	ON CONFLICT(app, id) DO UPDATE SET
		caller = excluded.caller, caller_device = excluded.caller_device,
		callee = excluded.callee, callee_device = excluded.callee_device,
		type = excluded.type, ext = excluded.ext, record = excluded.record,
		merge_stream = excluded.merge_stream, invited_at = excluded.invited_at,
		ringing_at = excluded.ringing_at, connected_at = excluded.connected_at,
		accepted_at = excluded.accepted_at, ended_at = excluded.ended_at,
		end_reason = excluded.end_reason, ended_by = excluded.ended_by,
		connect_type = excluded.connect_type, server_video_id = excluded.server_video_id`

// SaveCalls inserts or replaces the records, keyed by (App, ID), in one transaction with one
// prepared statement. Batching many records per call is what makes it fast: the cost of a
// commit (a WAL append, no fsync with synchronous=NORMAL) is paid once per batch.
func (s *Store) SaveCalls(ctx context.Context, calls []store.CallRecord) error {
	if len(calls) == 0 {
		return nil
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		stmt := tx.StmtContext(ctx, s.upsertCall)
		for i := range calls {
			c := &calls[i]
			if _, err := stmt.ExecContext(ctx, c.App, c.ID, c.Caller, c.CallerDevice, c.Callee,
				c.CalleeDevice, c.Type, c.Ext, boolInt(c.Record), boolInt(c.MergeStream),
				codec.Millis(c.InvitedAt), codec.Millis(c.RingingAt), codec.Millis(c.ConnectedAt), codec.Millis(c.AcceptedAt), codec.Millis(c.EndedAt),
				c.EndReason, c.EndedBy, c.ConnectType, c.ServerVideoID); err != nil {
				return fmt.Errorf("sqlite: save call %q: %w", c.ID, err)
			}
		}
		return nil
	})
}

// GetCall returns one call record or store.ErrNotFound.
func (s *Store) GetCall(ctx context.Context, app, id string) (store.CallRecord, error) {
	c, err := scanCall(s.r.QueryRowContext(ctx, `SELECT `+callColumns+` FROM calls WHERE app = ? AND id = ?`, app, id))
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

	// The conditions every branch shares: time range and keyset position.
	var cond strings.Builder
	var condArgs []any
	if !f.Since.IsZero() {
		cond.WriteString(` AND invited_at >= ?`)
		condArgs = append(condArgs, codec.Millis(f.Since))
	}
	if !f.Until.IsZero() {
		cond.WriteString(` AND invited_at < ?`)
		condArgs = append(condArgs, codec.Millis(f.Until))
	}
	if f.Cursor != "" {
		at, id, ok := codec.DecodeCursor(f.Cursor)
		if !ok {
			return nil, "", fmt.Errorf("sqlite: bad call cursor: %w", store.ErrNotFound)
		}
		cond.WriteString(` AND (invited_at, id) < (?, ?)`)
		condArgs = append(condArgs, at, id)
	}
	const order = ` ORDER BY invited_at DESC, id DESC LIMIT ?`
	n := limit + 1 // one more tells whether there is a next page

	var q string
	var args []any
	if f.User == "" {
		q = `SELECT ` + callColumns + ` FROM calls WHERE app = ?` + cond.String() + order
		args = append(append(append(args, app), condArgs...), n)
	} else {
		// One branch per index (caller, callee), each already in order, merged; a single
		// "caller = ? OR callee = ?" would sort the user's whole history on every page.
		q = `SELECT * FROM (SELECT ` + callColumns + ` FROM calls WHERE app = ? AND caller = ?` + cond.String() + order + `)
			UNION ALL
			SELECT * FROM (SELECT ` + callColumns + ` FROM calls WHERE app = ? AND callee = ? AND caller <> ?` + cond.String() + order + `)` + order
		args = append(append(append(args, app, f.User), condArgs...), n)
		args = append(append(append(args, app, f.User, f.User), condArgs...), n)
		args = append(args, n)
	}
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, "", fmt.Errorf("sqlite: list calls: %w", err)
	}
	defer rows.Close()
	calls := make([]store.CallRecord, 0, n)
	for rows.Next() {
		c, err := scanCall(rows)
		if err != nil {
			return nil, "", fmt.Errorf("sqlite: list calls: %w", err)
		}
		calls = append(calls, c)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("sqlite: list calls: %w", err)
	}
	calls, next := codec.NextPage(calls, limit, func(r store.CallRecord) (int64, string) { return codec.Millis(r.InvitedAt), r.ID })
	return calls, next, nil
}

func scanCall(r scanner) (store.CallRecord, error) {
	var c store.CallRecord
	var record, merge int
	var invited, ringing, connected, accepted, ended int64
	err := r.Scan(&c.App, &c.ID, &c.Caller, &c.CallerDevice, &c.Callee, &c.CalleeDevice, &c.Type,
		&c.Ext, &record, &merge, &invited, &ringing, &connected, &accepted, &ended, &c.EndReason,
		&c.EndedBy, &c.ConnectType, &c.ServerVideoID)
	c.Record, c.MergeStream = record != 0, merge != 0
	c.InvitedAt, c.RingingAt, c.ConnectedAt = codec.Time(invited), codec.Time(ringing), codec.Time(connected)
	c.AcceptedAt, c.EndedAt = codec.Time(accepted), codec.Time(ended)
	return c, err
}
