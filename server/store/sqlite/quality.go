package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/duet-rtc/duet/server/store"
	"github.com/duet-rtc/duet/server/store/internal/codec"
)

// AddQualitySamples implements store.QualityStore.
func (s *Store) AddQualitySamples(ctx context.Context, samples []store.QualitySample) error {
	if len(samples) == 0 {
		return nil
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO call_quality(app, call_id, username, device, at, data) VALUES (?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return fmt.Errorf("sqlite: quality samples: %w", err)
		}
		defer stmt.Close()
		for _, q := range samples {
			if _, err := stmt.ExecContext(ctx, q.App, q.CallID, q.User, q.Device, codec.Millis(q.At), q.Data); err != nil {
				return fmt.Errorf("sqlite: quality samples: %w", err)
			}
		}
		return nil
	})
}

// QualitySamples implements store.QualityStore.
func (s *Store) QualitySamples(ctx context.Context, app, callID string, limit int) ([]store.QualitySample, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT app, call_id, username, device, at, data FROM call_quality
		WHERE app = ? AND call_id = ? ORDER BY at, id LIMIT ?`, app, callID, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: quality samples: %w", err)
	}
	defer rows.Close()
	var out []store.QualitySample
	for rows.Next() {
		var q store.QualitySample
		var at int64
		if err := rows.Scan(&q.App, &q.CallID, &q.User, &q.Device, &at, &q.Data); err != nil {
			return nil, fmt.Errorf("sqlite: quality samples: %w", err)
		}
		q.At = codec.Time(at)
		out = append(out, q)
	}
	return out, rows.Err()
}

// PruneQualitySamples implements store.QualityStore.
func (s *Store) PruneQualitySamples(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM call_quality WHERE at < ?`, codec.Millis(before))
		if err != nil {
			return err
		}
		if n, err = res.RowsAffected(); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM call_quality_summary WHERE ended_at < ?`, codec.Millis(before))
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("sqlite: prune quality samples: %w", err)
	}
	return n, nil
}

// AddQualitySummaries implements store.QualityStore.
func (s *Store) AddQualitySummaries(ctx context.Context, summaries []store.QualitySummary) error {
	if len(summaries) == 0 {
		return nil
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		for _, q := range summaries {
			if _, err := tx.ExecContext(ctx, `INSERT INTO call_quality_summary(app, call_id, ended_at, data) VALUES (?, ?, ?, ?)
				ON CONFLICT (app, call_id) DO NOTHING`, q.App, q.CallID, codec.Millis(q.EndedAt), q.Data); err != nil {
				return fmt.Errorf("sqlite: quality summaries: %w", err)
			}
		}
		return nil
	})
}

// QualitySummaries implements store.QualityStore, in one query: the ids go in as a JSON
// array (json_each), as SQLite has no array parameters.
func (s *Store) QualitySummaries(ctx context.Context, app string, callIDs []string) (map[string]store.QualitySummary, error) {
	out := map[string]store.QualitySummary{}
	if len(callIDs) == 0 {
		return out, nil
	}
	ids, _ := json.Marshal(callIDs) // strings: cannot fail
	rows, err := s.r.QueryContext(ctx, `SELECT app, call_id, ended_at, data FROM call_quality_summary
		WHERE app = ? AND call_id IN (SELECT value FROM json_each(?))`, app, string(ids))
	list, err := collect(rows, err, "quality summaries", func(r scanner) (store.QualitySummary, error) {
		var q store.QualitySummary
		var ended int64
		err := r.Scan(&q.App, &q.CallID, &ended, &q.Data)
		q.EndedAt = codec.Time(ended)
		return q, err
	})
	for _, q := range list {
		out[q.CallID] = q
	}
	return out, err
}
