package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/duet-rtc/duet/server/store"
	"github.com/duet-rtc/duet/server/store/internal/codec"
)

var _ store.MessageStore = (*Store)(nil)

const messageColumns = `app, id, seq, sender, sender_device, recipient, text, ext, created`

// maxMessagesPage bounds one Messages call.
const maxMessagesPage = 1000

// AddMessage stores m with the recipient's next seq, in one transaction. The seq comes from
// one upsert of the recipient's counter row in chat_mailboxes: its row lock makes
// concurrent senders to one recipient take turns, so seqs are distinct and consecutive,
// and pruning messages never makes a seq come back.
//
// Two sends of one message id at once (a client's retry racing its original) both miss the
// existing row; the second then fails on the unique index and is retried, and finds the
// first: it returns it with dup true, as the sequential case does.
func (s *Store) AddMessage(ctx context.Context, m store.Message) (store.Message, bool, error) {
	for attempt := 0; ; attempt++ {
		out, dup, err := s.addMessage(ctx, m)
		var pe *pgconn.PgError
		if attempt == 0 && errors.As(err, &pe) && pe.Code == codeUnique && pe.ConstraintName == "chat_messages_by_sender_id" {
			continue
		}
		return out, dup, err
	}
}

func (s *Store) addMessage(ctx context.Context, m store.Message) (store.Message, bool, error) {
	var out store.Message
	dup := false
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		prev, err := scanMessage(tx.QueryRow(ctx, `SELECT `+messageColumns+` FROM chat_messages
			WHERE app = $1 AND sender = $2 AND id = $3`, m.App, m.From, m.ID))
		switch {
		case err == nil:
			if prev.To != m.To || prev.Text != m.Text || !bytes.Equal(prev.Ext, m.Ext) {
				return fmt.Errorf("postgres: message id %q: %w", m.ID, store.ErrDuplicate)
			}
			out, dup = prev, true
			return nil
		case !errors.Is(err, pgx.ErrNoRows):
			return fmt.Errorf("postgres: add message: %w", err)
		}
		err = tx.QueryRow(ctx, `INSERT INTO chat_mailboxes(app, username, last_seq) VALUES ($1, $2, 1)
			ON CONFLICT (app, username) DO UPDATE SET last_seq = chat_mailboxes.last_seq + 1
			RETURNING last_seq`, m.App, m.To).Scan(&m.Seq)
		if isForeignKey(err) {
			return fmt.Errorf("postgres: recipient %q in app %q: %w", m.To, m.App, store.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("postgres: add message: %w", err)
		}
		var ext []byte // NULL, not an empty bytea, for a message without ext
		if m.Ext != nil {
			ext = nonNil(m.Ext)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO chat_messages(`+messageColumns+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, m.App, m.ID, m.Seq, m.From, m.FromDevice, m.To,
			m.Text, ext, codec.Millis(m.Created)); err != nil {
			if isDuplicate(err) {
				return fmt.Errorf("postgres: message id %q: %w: %w", m.ID, store.ErrDuplicate, err)
			}
			return fmt.Errorf("postgres: add message: %w", err)
		}
		out = m
		return nil
	})
	if err != nil {
		return store.Message{}, false, err
	}
	return out, dup, nil
}

// Messages returns up to limit (at most 1000) messages of user after seq, in seq order.
func (s *Store) Messages(ctx context.Context, app, user string, after int64, limit int) ([]store.Message, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+messageColumns+` FROM chat_messages
		WHERE app = $1 AND recipient = $2 AND seq > $3 ORDER BY seq LIMIT $4`, app, user, after, min(max(limit, 1), maxMessagesPage))
	return collect(rows, err, "messages", scanMessage)
}

// DeliveryState reads the device's cursor and the user's last seq in one query.
func (s *Store) DeliveryState(ctx context.Context, app, user, device string) (int64, int64, error) {
	var acked, last int64
	err := s.pool.QueryRow(ctx, `SELECT
		coalesce((SELECT acked FROM chat_cursors WHERE app = $1 AND username = $2 AND device = $3), 0),
		coalesce((SELECT last_seq FROM chat_mailboxes WHERE app = $1 AND username = $2), 0)`,
		app, user, device).Scan(&acked, &last)
	if err != nil {
		return 0, 0, fmt.Errorf("postgres: delivery state: %w", err)
	}
	return acked, last, nil
}

// AckMessages raises the device's cursor. A user that no longer exists is not an error:
// the ack of a device being deleted is simply dropped.
func (s *Store) AckMessages(ctx context.Context, app, user, device string, upTo int64, at time.Time) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO chat_cursors(app, username, device, acked, seen)
		VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (app, username, device) DO UPDATE SET acked = greatest(chat_cursors.acked, excluded.acked), seen = excluded.seen`,
		app, user, device, upTo, codec.Millis(at))
	if err != nil && !isForeignKey(err) {
		return fmt.Errorf("postgres: ack messages: %w", err)
	}
	return nil
}

// PruneMessages deletes expired messages and the cursors of devices silent since before.
func (s *Store) PruneMessages(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var q batch
		q.add("prune messages", `DELETE FROM chat_messages WHERE created < $1`, codec.Millis(before))
		q.add("prune cursors", `DELETE FROM chat_cursors WHERE seen < $1`, codec.Millis(before))
		affected, err := q.run(ctx, tx)
		if err == nil {
			n = affected[0]
		}
		return err
	})
	return n, err
}

func scanMessage(r row) (store.Message, error) {
	var m store.Message
	var created int64
	var ext []byte
	err := r.Scan(&m.App, &m.ID, &m.Seq, &m.From, &m.FromDevice, &m.To, &m.Text, &ext, &created)
	if len(ext) > 0 {
		m.Ext = ext
	}
	m.Created = codec.Time(created)
	return m, err
}
