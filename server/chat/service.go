// Package chat is duet's text messaging: a device sends chat.send, the message is stored
// with the recipient's next seq, and every device of the recipient receives it as
// chat.message, in seq order, now or when it next connects. Each device acknowledges with
// chat.ack{upTo}; its cursor is stored, so after a reconnect, or a server restart between
// send and delivery, a device gets exactly what it has not acknowledged (the SDK drops the
// repeats of messages it received but could not acknowledge in time). A recipient without
// an online device is sent an alert push.
//
// Flow control: at most Window unacknowledged messages are in flight to one device, so a
// device coming back to a long backlog never overfills its send queue; each ack releases
// more.
package chat

import (
	"context"
	"crypto/rand"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/duet-rtc/duet/internal/clock"
	"github.com/duet-rtc/duet/protocol"
	"github.com/duet-rtc/duet/server/route"
	"github.com/duet-rtc/duet/server/store"
)

// Defaults of Config fields left zero.
const (
	DefaultWindow    = 32
	DefaultRetention = 7 * 24 * time.Hour
)

// pruneEvery is how often expired messages are deleted.
const pruneEvery = time.Hour

// Config tunes a Service.
type Config struct {
	Store     store.MessageStore
	Sender    route.Sender
	Directory route.Directory
	// Pusher sends the alert push for a message whose recipient has no online device. It
	// must not block. May be nil.
	Pusher func(store.Message)
	Clock  clock.Clock  // default clock.Real{}
	Logger *slog.Logger // default slog.Default()
	// Remote, if set, hands a stored message to a device connected to another node of a
	// cluster and reports true, or reports false for a device it does not know elsewhere
	// (one connected here). The other node delivers it with Deliver. May be nil.
	Remote func(to route.Device, m store.Message) bool
	// Window is how many unacknowledged messages may be in flight to one device. Default 32,
	// half the hub's default send queue.
	Window int
	// Retention is how long messages are kept, delivered or not: a device that connects for
	// the first time receives the messages of this period. Default 7 days.
	Retention time.Duration
	// NewID makes message ids for sends without one. Default: 128 random bits, base32.
	NewID func() string
}

// Service handles chat.send and chat.ack and delivers messages to devices. Create it with
// New; stop it with Close.
type Service struct {
	cfg Config
	log *slog.Logger

	ctx    context.Context // cancelled by Close
	cancel context.CancelFunc
	prunes sync.WaitGroup

	mu      sync.Mutex
	devices map[route.Device]*device // connected devices' delivery state
	timer   clock.Timer
	closed  bool
}

// device is the delivery state of one connected device. Its mutex orders everything sent to
// the device: deliveries from senders, the catch-up at connect and the releases on acks.
type device struct {
	mu    sync.Mutex
	sent  int64 // highest seq sent on the current connection
	acked int64 // highest seq the device acknowledged
	gone  bool  // disconnected or replaced: send nothing more
}

// New returns a Service and starts its hourly pruning of expired messages.
func New(cfg Config) *Service {
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Window <= 0 {
		cfg.Window = DefaultWindow
	}
	if cfg.Retention <= 0 {
		cfg.Retention = DefaultRetention
	}
	if cfg.NewID == nil {
		cfg.NewID = rand.Text
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Service{cfg: cfg, log: cfg.Logger, ctx: ctx, cancel: cancel, devices: map[route.Device]*device{}}
	s.mu.Lock()
	s.timer = cfg.Clock.AfterFunc(time.Minute, s.prune) // soon after start, then hourly
	s.mu.Unlock()
	return s
}

// Close stops pruning and waits for a prune in progress.
func (s *Service) Close() {
	s.mu.Lock()
	s.closed = true
	if s.timer != nil {
		s.timer.Stop()
	}
	s.mu.Unlock()
	s.cancel()
	s.prunes.Wait()
}

func (s *Service) prune() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.prunes.Add(1)
	s.timer = s.cfg.Clock.AfterFunc(pruneEvery, s.prune)
	s.mu.Unlock()
	defer s.prunes.Done()
	n, err := s.cfg.Store.PruneMessages(s.ctx, s.cfg.Clock.Now().Add(-s.cfg.Retention))
	switch {
	case err != nil && s.ctx.Err() == nil:
		s.log.Error("chat: pruning expired messages failed", "err", err)
	case n > 0:
		s.log.Debug("chat: pruned expired messages", "messages", n)
	}
}

// DeviceOnline starts delivery to a (re)connected device: everything after its stored
// cursor is sent, up to the window. A replaced connection starts over from the cursor.
func (s *Service) DeviceOnline(dev route.Online) {
	d := &device{}
	d.mu.Lock() // held until initialised: deliveries for the device wait instead of racing
	defer d.mu.Unlock()
	s.mu.Lock()
	if old := s.devices[dev.Device]; old != nil {
		old.mu.Lock()
		old.gone = true
		old.mu.Unlock()
	}
	s.devices[dev.Device] = d
	s.mu.Unlock()

	ctx, cancel := context.WithTimeout(s.ctx, 10*time.Second)
	defer cancel()
	acked, last, err := s.cfg.Store.DeliveryState(ctx, dev.App, dev.User, dev.ID)
	if err != nil {
		s.log.Error("chat: reading a device's cursor failed", "app", dev.App, "err", err)
		d.gone = true // nothing is sent rather than a wrong sequence; the next connect retries
		return
	}
	d.sent, d.acked = acked, acked
	if last > acked {
		s.pumpLocked(ctx, dev.Device, d)
	}
}

// DeviceOffline stops delivery to a device.
func (s *Service) DeviceOffline(dev route.Device) {
	s.mu.Lock()
	d := s.devices[dev]
	delete(s.devices, dev)
	s.mu.Unlock()
	if d != nil {
		d.mu.Lock()
		d.gone = true
		d.mu.Unlock()
	}
}

// HandleMessage handles chat.send and chat.ack from a device.
func (s *Service) HandleMessage(dev route.Device, env *protocol.Envelope) *protocol.Envelope {
	var err error
	var reply any
	switch env.Type {
	case protocol.TypeChatSend:
		reply, err = s.send(dev, env)
	case protocol.TypeChatAck:
		err = s.ack(dev, env)
	default:
		err = protocol.NewError(protocol.CodeUnknownMessage, "unknown message type %q", env.Type)
	}
	if err != nil {
		return protocol.NewErrorReply(env.ID, err)
	}
	if env.ID == "" {
		return nil
	}
	return protocol.NewReply(env.ID, reply)
}

// send stores a message and delivers it to the recipient's online devices, or has it
// pushed when there are none.
func (s *Service) send(dev route.Device, env *protocol.Envelope) (*protocol.ChatSent, error) {
	var req protocol.ChatSend
	if err := env.DecodeData(&req); err != nil {
		return nil, err
	}
	m := store.Message{App: dev.App, ID: req.ID, From: dev.User, FromDevice: dev.ID,
		To: protocol.NormalizeUsername(req.To), Text: req.Text, Created: s.cfg.Clock.Now()}
	if m.ID == "" {
		m.ID = s.cfg.NewID()
	}
	if len(req.Ext) > 0 && string(req.Ext) != "null" {
		m.Ext = req.Ext
	}
	ctx, cancel := context.WithTimeout(s.ctx, 10*time.Second)
	defer cancel()
	stored, dup, err := s.cfg.Store.AddMessage(ctx, m)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, protocol.NewError(protocol.CodeUserNotFound, "no such user")
	case errors.Is(err, store.ErrDuplicate):
		return nil, protocol.NewError(protocol.CodeBadMessage, "this message id is already used for another message")
	case err != nil:
		s.log.Error("chat: storing a message failed", "app", dev.App, "err", err)
		return nil, protocol.NewError(protocol.CodeDatabase, "database error")
	}
	sent := &protocol.ChatSent{ID: stored.ID, Timestamp: stored.Created.UnixMilli()}
	if dup {
		return sent, nil // delivered (or queued for delivery) the first time
	}
	online := s.cfg.Directory.OnlineDevices(stored.App, stored.To)
	if len(online) == 0 && s.cfg.Pusher != nil {
		s.cfg.Pusher(stored)
	}
	for _, o := range online {
		if s.cfg.Remote != nil && s.cfg.Remote(o.Device, stored) {
			continue
		}
		s.deliver(ctx, o.Device, stored)
	}
	return sent, nil
}

// Deliver hands a message another node stored to a device connected here, in its sequence
// like the node's own messages: it is sent if it is next and the window has room, or the
// device is caught up from the store.
func (s *Service) Deliver(to route.Device, m store.Message) {
	ctx, cancel := context.WithTimeout(s.ctx, 10*time.Second)
	defer cancel()
	s.deliver(ctx, to, m)
}

// deliver sends m to a connected device if it is next in its sequence and the window has
// room; a device behind is caught up from the store instead, which keeps the order.
func (s *Service) deliver(ctx context.Context, to route.Device, m store.Message) {
	s.mu.Lock()
	d := s.devices[to]
	s.mu.Unlock()
	if d == nil {
		return // not started yet: its DeviceOnline reads m from the store
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.gone || m.Seq <= d.sent {
		return
	}
	if m.Seq == d.sent+1 && d.sent-d.acked < int64(s.cfg.Window) {
		if !s.cfg.Sender.Send(to, messageEnv(m)) {
			d.gone = true
			return
		}
		d.sent = m.Seq
		return
	}
	s.pumpLocked(ctx, to, d)
}

// ack records a device's acknowledgement and releases the next messages.
func (s *Service) ack(dev route.Device, env *protocol.Envelope) error {
	var req protocol.ChatAck
	if err := env.DecodeData(&req); err != nil {
		return err
	}
	s.mu.Lock()
	d := s.devices[dev]
	s.mu.Unlock()
	if d == nil {
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	upTo := min(req.UpTo, d.sent) // a device cannot acknowledge what it was not sent
	if d.gone || upTo <= d.acked {
		return nil
	}
	ctx, cancel := context.WithTimeout(s.ctx, 10*time.Second)
	defer cancel()
	if err := s.cfg.Store.AckMessages(ctx, dev.App, dev.User, dev.ID, upTo, s.cfg.Clock.Now()); err != nil {
		s.log.Error("chat: storing an ack failed", "app", dev.App, "err", err)
		return protocol.NewError(protocol.CodeDatabase, "database error")
	}
	d.acked = upTo
	s.pumpLocked(ctx, dev, d)
	return nil
}

// pumpLocked sends the device's next messages from the store until the window is full or
// nothing is left. d.mu is held.
func (s *Service) pumpLocked(ctx context.Context, to route.Device, d *device) {
	for !d.gone {
		room := int64(s.cfg.Window) - (d.sent - d.acked)
		if room <= 0 {
			return
		}
		msgs, err := s.cfg.Store.Messages(ctx, to.App, to.User, d.sent, int(room))
		if err != nil {
			s.log.Error("chat: reading messages failed", "app", to.App, "err", err)
			return // the next ack or connect tries again
		}
		for _, m := range msgs {
			if !s.cfg.Sender.Send(to, messageEnv(m)) {
				d.gone = true
				return
			}
			d.sent = m.Seq
		}
		if int64(len(msgs)) < room {
			return
		}
	}
}

func messageEnv(m store.Message) *protocol.Envelope {
	return protocol.NewMessage(protocol.TypeChatMessage, "", &protocol.ChatMessage{
		ID: m.ID, Seq: m.Seq, From: m.From, To: m.To, Text: m.Text, Ext: m.Ext, Timestamp: m.Created.UnixMilli(),
	})
}
