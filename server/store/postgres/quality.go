package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/duet-rtc/duet/server/store"
	"github.com/duet-rtc/duet/server/store/internal/codec"
)

// AddQualitySamples implements store.QualityStore, in one round trip.
func (s *Store) AddQualitySamples(ctx context.Context, samples []store.QualitySample) error {
	if len(samples) == 0 {
		return nil
	}
	return s.inTx(ctx, func(tx pgx.Tx) error {
		var q batch
		for _, x := range samples {
			q.add("quality sample", `INSERT INTO call_quality(app, call_id, username, device, at, data) VALUES ($1, $2, $3, $4, $5, $6)`,
				x.App, x.CallID, x.User, x.Device, codec.Millis(x.At), x.Data)
		}
		_, err := q.run(ctx, tx)
		return err
	})
}

// QualitySamples implements store.QualityStore.
func (s *Store) QualitySamples(ctx context.Context, app, callID string, limit int) ([]store.QualitySample, error) {
	rows, err := s.pool.Query(ctx, `SELECT app, call_id, username, device, at, data FROM call_quality
		WHERE app = $1 AND call_id = $2 ORDER BY at, id LIMIT $3`, app, callID, limit)
	return collect(rows, err, "quality samples", func(r row) (store.QualitySample, error) {
		var q store.QualitySample
		var at int64
		err := r.Scan(&q.App, &q.CallID, &q.User, &q.Device, &at, &q.Data)
		q.At = codec.Time(at)
		return q, err
	})
}

// PruneQualitySamples implements store.QualityStore.
func (s *Store) PruneQualitySamples(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM call_quality WHERE at < $1`, codec.Millis(before))
		if err != nil {
			return err
		}
		n = tag.RowsAffected()
		_, err = tx.Exec(ctx, `DELETE FROM call_quality_summary WHERE ended_at < $1`, codec.Millis(before))
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("postgres: prune quality samples: %w", err)
	}
	return n, nil
}

// AddQualitySummaries implements store.QualityStore, in one round trip.
func (s *Store) AddQualitySummaries(ctx context.Context, summaries []store.QualitySummary) error {
	if len(summaries) == 0 {
		return nil
	}
	return s.inTx(ctx, func(tx pgx.Tx) error {
		var b batch
		for _, q := range summaries {
			b.add("quality summary", `INSERT INTO call_quality_summary(app, call_id, ended_at, data) VALUES ($1, $2, $3, $4)
				ON CONFLICT (app, call_id) DO NOTHING`, q.App, q.CallID, codec.Millis(q.EndedAt), q.Data)
		}
		_, err := b.run(ctx, tx)
		return err
	})
}

// QualitySummaries implements store.QualityStore, in one query.
func (s *Store) QualitySummaries(ctx context.Context, app string, callIDs []string) (map[string]store.QualitySummary, error) {
	out := map[string]store.QualitySummary{}
	if len(callIDs) == 0 {
		return out, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT app, call_id, ended_at, data FROM call_quality_summary
		WHERE app = $1 AND call_id = ANY($2)`, app, callIDs)
	list, err := collect(rows, err, "quality summaries", func(r row) (store.QualitySummary, error) {
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
