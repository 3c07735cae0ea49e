package store

import (
	"context"
	"time"
)

// Message is one stored text message. Seq numbers the messages of one recipient (1, 2, ...)
// and never repeats, even after old messages are pruned.
type Message struct {
	App        string
	ID         string // unique per sender
	Seq        int64
	From       string // lower-cased
	FromDevice string
	To         string // lower-cased
	Text       string
	Ext        []byte // a JSON object, or nil
	Created    time.Time
}

// MessageStore keeps text messages until they expire and, for every device, how far it has
// acknowledged its user's messages.
type MessageStore interface {
	// AddMessage stores m with the recipient's next Seq and returns it as stored. When the
	// sender already stored a message with m.ID, that message is returned with dup true if it
	// has the same recipient and text, and ErrDuplicate otherwise. ErrNotFound when the
	// recipient does not exist.
	AddMessage(ctx context.Context, m Message) (stored Message, dup bool, err error)
	// Messages returns up to limit messages of user with Seq > after, in Seq order.
	Messages(ctx context.Context, app, user string, after int64, limit int) ([]Message, error)
	// DeliveryState returns how far device has acknowledged (0 for a device never seen) and
	// the user's last Seq (0 when the user never got a message).
	DeliveryState(ctx context.Context, app, user, device string) (acked, last int64, err error)
	// AckMessages raises the device's acknowledged Seq to upTo; it never lowers it.
	AckMessages(ctx context.Context, app, user, device string, upTo int64, at time.Time) error
	// PruneMessages deletes the messages created before, and the cursors of devices that
	// have not acknowledged anything since; it returns how many messages it deleted.
	PruneMessages(ctx context.Context, before time.Time) (int64, error)
}
