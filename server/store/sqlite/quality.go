package sqlite

import (
	"context"
	"database/sql"
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
	res, err := s.w.ExecContext(ctx, `DELETE FROM call_quality WHERE at < ?`, codec.Millis(before))
	if err != nil {
		return 0, fmt.Errorf("sqlite: prune quality samples: %w", err)
	}
	return res.RowsAffected()
}
