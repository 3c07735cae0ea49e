package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// batch is statements sent to the server in one round trip (pgx's pipeline) inside a
// transaction, each with a description for its error. A group commit of calls is dozens
// of statements: one round trip instead of one per statement is most of its cost.
type batch struct {
	b    pgx.Batch
	what []string
}

// add queues one statement.
func (q *batch) add(what, sql string, args ...any) {
	q.b.Queue(sql, args...)
	q.what = append(q.what, what)
}

// run sends the statements and returns the rows each affected; the first failure is the
// error (the transaction is then aborted, so nothing after it applies).
func (q *batch) run(ctx context.Context, tx pgx.Tx) ([]int64, error) {
	if q.b.Len() == 0 {
		return nil, nil
	}
	br := tx.SendBatch(ctx, &q.b)
	affected := make([]int64, len(q.what))
	for i, what := range q.what {
		tag, err := br.Exec()
		if err != nil {
			br.Close()
			return nil, fmt.Errorf("postgres: %s: %w", what, err)
		}
		affected[i] = tag.RowsAffected()
	}
	if err := br.Close(); err != nil {
		return nil, fmt.Errorf("postgres: batch: %w", err)
	}
	return affected, nil
}
