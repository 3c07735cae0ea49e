package sqlite

import (
	"context"

	"fmt"
	"strings"
	"time"

	"github.com/duet-rtc/duet/server/store"
	"github.com/duet-rtc/duet/server/store/internal/codec"
)

var _ store.RecordingStore = (*Store)(nil)

const recordingColumns = `app, id, server_video_id, call_id, owner, record_type, status, detail, file,
	begin_at, end_at, duration_ms, size, width, height, expires, created`

// SaveRecording inserts or replaces a recording, keyed by (App, ID).
func (s *Store) SaveRecording(ctx context.Context, r store.Recording) error {
	_, err := s.w.ExecContext(ctx, `INSERT OR REPLACE INTO recordings(`+recordingColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.App, r.ID, r.ServerVideoID, r.CallID, r.Owner, r.RecordType, r.Status, r.Detail, r.File,
		codec.Millis(r.Begin), codec.Millis(r.End), r.Duration.Milliseconds(), r.Size, r.Width, r.Height, codec.Millis(r.Expires), codec.Millis(r.Created))
	if err != nil {
		return fmt.Errorf("sqlite: save recording %q: %w", r.ID, err)
	}
	return nil
}

// GetRecording returns one recording or store.ErrNotFound.
func (s *Store) GetRecording(ctx context.Context, app, id string) (store.Recording, error) {
	r, err := scanRecording(s.r.QueryRowContext(ctx, `SELECT `+recordingColumns+` FROM recordings WHERE app = ? AND id = ?`, app, id))
	if err != nil {
		return store.Recording{}, notFoundIfNoRows(err, fmt.Sprintf("recording %q in app %q", id, app))
	}
	return r, nil
}

// ListRecordings returns the recordings of app that match f, newest (by Begin, then ID)
// first, and the cursor of the next page ("" on the last). A cursor this store did not
// produce yields an error wrapping store.ErrNotFound.
func (s *Store) ListRecordings(ctx context.Context, app string, f store.RecordingFilter) ([]store.Recording, string, error) {
	limit := codec.PageLimit(f.Limit)
	var q strings.Builder
	args := []any{app}
	q.WriteString(`SELECT ` + recordingColumns + ` FROM recordings WHERE app = ?`)
	if f.ServerVideoID != "" {
		q.WriteString(` AND server_video_id = ?`)
		args = append(args, f.ServerVideoID)
	}
	if f.RecordType != "" {
		q.WriteString(` AND record_type = ?`)
		args = append(args, f.RecordType)
	}
	if !f.Since.IsZero() {
		q.WriteString(` AND begin_at >= ?`)
		args = append(args, codec.Millis(f.Since))
	}
	if !f.Until.IsZero() {
		q.WriteString(` AND begin_at < ?`)
		args = append(args, codec.Millis(f.Until))
	}
	if f.Cursor != "" {
		at, id, ok := codec.DecodeCursor(f.Cursor)
		if !ok {
			return nil, "", fmt.Errorf("sqlite: bad recording cursor: %w", store.ErrNotFound)
		}
		q.WriteString(` AND (begin_at, id) < (?, ?)`)
		args = append(args, at, id)
	}
	q.WriteString(` ORDER BY begin_at DESC, id DESC LIMIT ?`)
	args = append(args, limit+1)
	out, err := s.queryRecordings(ctx, q.String(), args...)
	if err != nil {
		return nil, "", err
	}
	out, next := codec.NextPage(out, limit, func(r store.Recording) (int64, string) { return codec.Millis(r.Begin), r.ID })
	return out, next, nil
}

// DeleteRecording removes one recording.
func (s *Store) DeleteRecording(ctx context.Context, app, id string) error {
	res, err := s.w.ExecContext(ctx, `DELETE FROM recordings WHERE app = ? AND id = ?`, app, id)
	if err != nil {
		return fmt.Errorf("sqlite: delete recording %q: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("sqlite: recording %q in app %q: %w", id, app, store.ErrNotFound)
	}
	return nil
}

// ExpiredRecordings returns up to limit recordings of any app that expired before t.
func (s *Store) ExpiredRecordings(ctx context.Context, t time.Time, limit int) ([]store.Recording, error) {
	return s.queryRecordings(ctx, `SELECT `+recordingColumns+` FROM recordings
		WHERE expires > 0 AND expires < ? ORDER BY expires LIMIT ?`, codec.Millis(t), limit)
}

// RecordingsWithStatus returns up to limit recordings of any app with status.
func (s *Store) RecordingsWithStatus(ctx context.Context, status string, limit int) ([]store.Recording, error) {
	return s.queryRecordings(ctx, `SELECT `+recordingColumns+` FROM recordings WHERE status = ? LIMIT ?`, status, limit)
}

func (s *Store) queryRecordings(ctx context.Context, q string, args ...any) ([]store.Recording, error) {
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: recordings: %w", err)
	}
	defer rows.Close()
	var out []store.Recording
	for rows.Next() {
		r, err := scanRecording(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: recordings: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: recordings: %w", err)
	}
	return out, nil
}

func scanRecording(r scanner) (store.Recording, error) {
	var rec store.Recording
	var begin, end, dur, expires, created int64
	err := r.Scan(&rec.App, &rec.ID, &rec.ServerVideoID, &rec.CallID, &rec.Owner, &rec.RecordType,
		&rec.Status, &rec.Detail, &rec.File, &begin, &end, &dur, &rec.Size, &rec.Width, &rec.Height,
		&expires, &created)
	rec.Begin, rec.End, rec.Expires, rec.Created = codec.Time(begin), codec.Time(end), codec.Time(expires), codec.Time(created)
	rec.Duration = time.Duration(dur) * time.Millisecond
	return rec, err
}
