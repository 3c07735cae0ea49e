package postgres

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
	_, err := s.pool.Exec(ctx, `INSERT INTO recordings(`+recordingColumns+`) VALUES (`+placeholders(17)+`)
		ON CONFLICT (app, id) DO UPDATE SET `+excluded(recordingColumns),
		r.App, r.ID, r.ServerVideoID, r.CallID, r.Owner, r.RecordType, r.Status, r.Detail, r.File,
		codec.Millis(r.Begin), codec.Millis(r.End), r.Duration.Milliseconds(), r.Size, r.Width, r.Height,
		codec.Millis(r.Expires), codec.Millis(r.Created))
	if err != nil {
		return fmt.Errorf("postgres: save recording %q: %w", r.ID, err)
	}
	return nil
}

// GetRecording returns one recording or store.ErrNotFound.
func (s *Store) GetRecording(ctx context.Context, app, id string) (store.Recording, error) {
	r, err := scanRecording(s.pool.QueryRow(ctx, `SELECT `+recordingColumns+` FROM recordings WHERE app = $1 AND id = $2`, app, id))
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
	where := func(cond string, v ...any) {
		args = append(args, v...)
		n := len(args)
		if len(v) == 2 {
			fmt.Fprintf(&q, cond, n-1, n)
		} else {
			fmt.Fprintf(&q, cond, n)
		}
	}
	q.WriteString(`SELECT ` + recordingColumns + ` FROM recordings WHERE app = $1`)
	if f.ServerVideoID != "" {
		where(` AND server_video_id = $%d`, f.ServerVideoID)
	}
	if f.RecordType != "" {
		where(` AND record_type = $%d`, f.RecordType)
	}
	if !f.Since.IsZero() {
		where(` AND begin_at >= $%d`, codec.Millis(f.Since))
	}
	if !f.Until.IsZero() {
		where(` AND begin_at < $%d`, codec.Millis(f.Until))
	}
	if f.Cursor != "" {
		at, id, ok := codec.DecodeCursor(f.Cursor)
		if !ok {
			return nil, "", fmt.Errorf("postgres: bad recording cursor: %w", store.ErrNotFound)
		}
		where(` AND (begin_at, id) < ($%d, $%d)`, at, id)
	}
	where(` ORDER BY begin_at DESC, id DESC LIMIT $%d`, limit+1)
	out, err := s.queryRecordings(ctx, q.String(), args...)
	if err != nil {
		return nil, "", err
	}
	out, next := codec.NextPage(out, limit, func(r store.Recording) (int64, string) { return codec.Millis(r.Begin), r.ID })
	return out, next, nil
}

// DeleteRecording removes one recording.
func (s *Store) DeleteRecording(ctx context.Context, app, id string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM recordings WHERE app = $1 AND id = $2`, app, id)
	return requireOne(tag, err, fmt.Sprintf("delete recording %q in app %q", id, app))
}

// ExpiredRecordings returns up to limit recordings of any app that expired before t.
func (s *Store) ExpiredRecordings(ctx context.Context, t time.Time, limit int) ([]store.Recording, error) {
	return s.queryRecordings(ctx, `SELECT `+recordingColumns+` FROM recordings
		WHERE expires > 0 AND expires < $1 ORDER BY expires LIMIT $2`, codec.Millis(t), limit)
}

// RecordingsWithStatus returns up to limit recordings of any app with status.
func (s *Store) RecordingsWithStatus(ctx context.Context, status string, limit int) ([]store.Recording, error) {
	return s.queryRecordings(ctx, `SELECT `+recordingColumns+` FROM recordings WHERE status = $1 LIMIT $2`, status, limit)
}

func (s *Store) queryRecordings(ctx context.Context, q string, args ...any) ([]store.Recording, error) {
	rows, err := s.pool.Query(ctx, q, args...)
	return collect(rows, err, "recordings", scanRecording)
}

func scanRecording(r row) (store.Recording, error) {
	var rec store.Recording
	var begin, end, dur, expires, created int64
	err := r.Scan(&rec.App, &rec.ID, &rec.ServerVideoID, &rec.CallID, &rec.Owner, &rec.RecordType,
		&rec.Status, &rec.Detail, &rec.File, &begin, &end, &dur, &rec.Size, &rec.Width, &rec.Height,
		&expires, &created)
	rec.Begin, rec.End, rec.Expires, rec.Created = codec.Time(begin), codec.Time(end), codec.Time(expires), codec.Time(created)
	rec.Duration = time.Duration(dur) * time.Millisecond
	return rec, err
}
