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
	tag, err := s.pool.Exec(ctx, `DELETE FROM call_quality WHERE at < $1`, codec.Millis(before))
	if err != nil {
		return 0, fmt.Errorf("postgres: prune quality samples: %w", err)
	}
	return tag.RowsAffected(), nil
}
