package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/duet-rtc/duet/server/store"
	"github.com/duet-rtc/duet/server/store/internal/codec"
)

var _ store.MessageStore = (*Store)(nil)

const messageColumns = `app, id, seq, sender, sender_device, recipient, text, ext, created`

// maxMessagesPage bounds one Messages call.
const maxMessagesPage = 1000

// AddMessage stores m with the recipient's next seq, in one transaction: the seq counter
// lives in chat_mailboxes, so pruning messages never makes a seq come back.
func (s *Store) AddMessage(ctx context.Context, m store.Message) (store.Message, bool, error) {
	var out store.Message
	dup := false
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		prev, err := scanMessage(tx.QueryRowContext(ctx, `SELECT `+messageColumns+` FROM chat_messages
			WHERE app = ? AND sender = ? AND id = ?`, m.App, m.From, m.ID))
		switch {
		case err == nil:
			if prev.To != m.To || prev.Text != m.Text || !bytes.Equal(prev.Ext, m.Ext) {
				return fmt.Errorf("sqlite: message id %q: %w", m.ID, store.ErrDuplicate)
			}
			out, dup = prev, true
			return nil
		case !errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("sqlite: add message: %w", err)
		}
		var seq int64
		err = tx.QueryRowContext(ctx, `INSERT INTO chat_mailboxes(app, username, last_seq) VALUES (?, ?, 1)
			ON CONFLICT(app, username) DO UPDATE SET last_seq = last_seq + 1
			RETURNING last_seq`, m.App, m.To).Scan(&seq)
		if isForeignKey(err) {
			return fmt.Errorf("sqlite: recipient %q in app %q: %w", m.To, m.App, store.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("sqlite: add message: %w", err)
		}
		m.Seq = seq
		var ext any // NULL, not an empty blob, for a message without ext
		if m.Ext != nil {
			ext = m.Ext
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO chat_messages(`+messageColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, m.App, m.ID, m.Seq, m.From, m.FromDevice, m.To,
			m.Text, ext, codec.Millis(m.Created)); err != nil {
			if isDuplicate(err) {
				return fmt.Errorf("sqlite: message id %q: %w", m.ID, store.ErrDuplicate)
			}
			return fmt.Errorf("sqlite: add message: %w", err)
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
	limit = min(max(limit, 1), maxMessagesPage)
	rows, err := s.r.QueryContext(ctx, `SELECT `+messageColumns+` FROM chat_messages
		WHERE app = ? AND recipient = ? AND seq > ? ORDER BY seq LIMIT ?`, app, user, after, limit)
	return collect(rows, err, "messages", scanMessage)
}

// DeliveryState reads the device's cursor and the user's last seq in one read-only query:
// it runs on every device connect, which must not cost a write.
func (s *Store) DeliveryState(ctx context.Context, app, user, device string) (int64, int64, error) {
	var acked, last int64
	err := s.r.QueryRowContext(ctx, `SELECT
		coalesce((SELECT acked FROM chat_cursors WHERE app = ? AND username = ? AND device = ?), 0),
		coalesce((SELECT last_seq FROM chat_mailboxes WHERE app = ? AND username = ?), 0)`,
		app, user, device, app, user).Scan(&acked, &last)
	if err != nil {
		return 0, 0, fmt.Errorf("sqlite: delivery state: %w", err)
	}
	return acked, last, nil
}

// AckMessages raises the device's cursor. A user that no longer exists is not an error:
// the ack of a device being deleted is simply dropped.
func (s *Store) AckMessages(ctx context.Context, app, user, device string, upTo int64, at time.Time) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO chat_cursors(app, username, device, acked, seen)
		VALUES (?, ?, ?, ?, ?)
		ON CONFLICT(app, username, device) DO UPDATE SET acked = max(acked, excluded.acked), seen = excluded.seen`,
		app, user, device, upTo, codec.Millis(at))
	if err != nil && !isForeignKey(err) {
		return fmt.Errorf("sqlite: ack messages: %w", err)
	}
	return nil
}

// PruneMessages deletes expired messages and the cursors of devices silent since before.
func (s *Store) PruneMessages(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM chat_messages WHERE created < ?`, codec.Millis(before))
		if err != nil {
			return fmt.Errorf("sqlite: prune messages: %w", err)
		}
		n, _ = res.RowsAffected()
		if _, err := tx.ExecContext(ctx, `DELETE FROM chat_cursors WHERE seen < ?`, codec.Millis(before)); err != nil {
			return fmt.Errorf("sqlite: prune cursors: %w", err)
		}
		return nil
	})
	return n, err
}

func scanMessage(r scanner) (store.Message, error) {
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
