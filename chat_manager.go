package duet

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/duet-rtc/duet/protocol"

	"github.com/duet-rtc/duet/internal/device"
)

// Message is a text message (the seed's EMMessage with a text body).
type Message struct {
	// ID is the message id, chosen by the sending SDK; unique per sender.
	ID   string
	From string
	To   string
	Text string
	// Ext is the message's extension: the seed's em_apns_ext, em_android_push_ext and
	// em_push_ext keys shape the push an offline recipient gets; anything else is the app's.
	Ext map[string]any
	// Time is when the server stored the message.
	Time time.Time
}

// ChatManagerDelegate receives text messages. Callbacks run on the queue given to
// AddDelegate, never on the SDK's own goroutines.
type ChatManagerDelegate interface {
	// MessagesDidReceive delivers messages in the order the server numbered them. Each
	// message is delivered once per client, also across reconnects and server restarts.
	MessagesDidReceive(messages []Message)
}

// ChatManager sends and receives text messages: the seed's chatManager, text only. Get it
// from Client.ChatManager.
//
// Delivery: the server keeps every message for the recipient and sends it to each of the
// recipient's devices; the SDK acknowledges a message once it has queued it to the
// delegates, and the server resends whatever a device has not acknowledged when the device
// reconnects. Messages that arrive while no delegate is registered are not acknowledged, so
// they come again at the next connection: add delegates before Login.
type ChatManager struct {
	c   *Client
	log *slog.Logger

	mu        sync.Mutex
	delegates []chatDelegate
	login     chan struct{} // the login the dedupe state belongs to (Client.stopped)
	lastSeq   int64         // highest seq handed to the delegates in this login
	seen      map[string]struct{}
	seenOrder []string
	ackUpTo   int64
	unacked   int
	ackTimer  *time.Timer
}

type chatDelegate struct {
	d ChatManagerDelegate
	q Queue
}

// Acknowledgement pacing: an ack after every ackEvery messages, and at most ackDelay after
// the last one, so a backlog costs one ack per ackEvery messages, well within the server's
// rate limit, while the server's window (32) never runs dry.
const (
	ackEvery = 16
	ackDelay = 50 * time.Millisecond
	maxSeen  = 4096 // message ids remembered for dropping repeats
	// maxSendAttempts bounds the sends of one message across reconnects.
	maxSendAttempts = 5
)

func newChatManager(c *Client) *ChatManager {
	return &ChatManager{c: c, log: c.log.With("part", "chat"), seen: map[string]struct{}{}}
}

// ChatManager returns the client's chat manager.
func (c *Client) ChatManager() *ChatManager { return c.chat }

// AddDelegate registers d; its callbacks run on q (nil: the SDK's serial queue).
func (m *ChatManager) AddDelegate(d ChatManagerDelegate, q Queue) {
	if q == nil {
		q = m.c.queue
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.delegates = append(m.delegates, chatDelegate{d, q})
}

// RemoveDelegate unregisters d.
func (m *ChatManager) RemoveDelegate(d ChatManagerDelegate) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, e := range m.delegates {
		if e.d == d {
			m.delegates = append(m.delegates[:i], m.delegates[i+1:]...)
			return
		}
	}
}

// SendMessage sends a text message to the user to. ext may be nil; it must encode to a JSON
// object of at most 4 KiB, and text must be 1-4096 bytes. An unknown recipient gets
// ErrorUserNotFound. When the connection drops before the server answers, SendMessage waits
// for the reconnect (within ctx) and sends again under the same message id, which the
// server stores only once (up to 5 attempts).
func (m *ChatManager) SendMessage(ctx context.Context, to, text string, ext map[string]any) (Message, error) {
	req := protocol.ChatSend{ID: rand.Text(), To: to, Text: text}
	if len(ext) > 0 {
		b, err := json.Marshal(ext)
		if err != nil {
			return Message{}, &Error{Code: protocol.CodeUserIllegalArgument, Message: "ext: " + err.Error()}
		}
		req.Ext = b
	}
	if err := req.Check(); err != nil {
		return Message{}, err
	}
	var sent protocol.ChatSent
	for attempt := 1; ; attempt++ {
		conn, err := m.c.current()
		if err == nil {
			err = conn.Request(ctx, protocol.TypeChatSend, req, &sent)
		}
		if err == nil {
			break
		}
		if ErrorCodeOf(err) != protocol.CodeNetworkUnavailable || attempt == maxSendAttempts || !m.c.waitNewConn(ctx, conn) {
			return Message{}, err
		}
	}
	return Message{ID: sent.ID, From: m.c.CurrentUsername(), To: protocol.NormalizeUsername(to), Text: text,
		Ext: ext, Time: time.UnixMilli(sent.Timestamp)}, nil
}

// waitNewConn waits until the client has a connection other than old (nil: any), and
// reports false when it is logged out or ctx ends first.
func (c *Client) waitNewConn(ctx context.Context, old *device.Conn) bool {
	for {
		c.mu.Lock()
		conn, stop, ch := c.conn, c.stop, c.connectedCh
		c.mu.Unlock()
		switch {
		case stop == nil:
			return false
		case conn != nil && conn != old:
			return true
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return false
		case <-time.After(100 * time.Millisecond): // the lost connection is noticed without a signal here
		}
	}
}

// loginToken identifies the current login: the dedupe state of one login must not drop the
// messages of the next (a user deleted and created again starts at seq 1).
func (c *Client) loginToken() chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stopped
}

// handleMessage handles one chat.* message from the server, on the connection's reader.
func (m *ChatManager) handleMessage(env *protocol.Envelope) {
	if env.Type != protocol.TypeChatMessage {
		m.log.Warn("unexpected message", "type", env.Type)
		return
	}
	var cm protocol.ChatMessage
	if err := env.DecodeDataLoose(&cm); err != nil || cm.ID == "" || cm.Seq <= 0 {
		m.log.Warn("undecodable chat.message", "err", err)
		return
	}
	msg := Message{ID: cm.ID, From: cm.From, To: cm.To, Text: cm.Text, Time: time.UnixMilli(cm.Timestamp)}
	if len(cm.Ext) > 0 && string(cm.Ext) != "null" {
		if err := json.Unmarshal(cm.Ext, &msg.Ext); err != nil {
			m.log.Warn("chat.message with an undecodable ext", "id", cm.ID, "err", err)
		}
	}
	login := m.c.loginToken()
	key := cm.From + "/" + cm.ID

	m.mu.Lock()
	if login != m.login {
		m.login, m.lastSeq = login, 0
		clear(m.seen)
		m.seenOrder = m.seenOrder[:0]
	}
	if len(m.delegates) == 0 {
		m.mu.Unlock()
		return // not acknowledged: it comes again once someone listens
	}
	_, seen := m.seen[key]
	repeat := seen || cm.Seq <= m.lastSeq
	if !repeat {
		m.lastSeq = cm.Seq
		m.remember(key)
	}
	ds := append([]chatDelegate(nil), m.delegates...)
	m.mu.Unlock()

	if !repeat {
		batch := []Message{msg}
		for _, e := range ds {
			d := e.d
			e.q.Dispatch(func() { d.MessagesDidReceive(batch) })
		}
	}
	m.ack(cm.Seq) // repeats too: the server resent them because it lacks the ack
}

// remember adds key to the bounded set of recent message keys. m.mu is held.
func (m *ChatManager) remember(key string) {
	m.seen[key] = struct{}{}
	m.seenOrder = append(m.seenOrder, key)
	if len(m.seenOrder) > maxSeen {
		delete(m.seen, m.seenOrder[0])
		m.seenOrder = m.seenOrder[1:]
	}
}

// ack acknowledges seq, now after ackEvery messages or else after ackDelay.
func (m *ChatManager) ack(seq int64) {
	m.mu.Lock()
	m.ackUpTo = max(m.ackUpTo, seq)
	m.unacked++
	now := m.unacked >= ackEvery
	if !now && m.ackTimer == nil {
		m.ackTimer = time.AfterFunc(ackDelay, m.flushAck)
	}
	m.mu.Unlock()
	if now {
		m.flushAck()
	}
}

// flushAck sends the pending acknowledgement, if any.
func (m *ChatManager) flushAck() {
	m.mu.Lock()
	upTo, n := m.ackUpTo, m.unacked
	m.unacked = 0
	if m.ackTimer != nil {
		m.ackTimer.Stop()
		m.ackTimer = nil
	}
	m.mu.Unlock()
	if n == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := m.c.send(ctx, protocol.TypeChatAck, protocol.ChatAck{UpTo: upTo}); err != nil && !errors.Is(err, ErrNotLoggedIn) {
		// The server resends what it has no ack for; the repeats are dropped here.
		m.log.Debug("ack not sent", "upTo", upTo, "err", err)
	}
}
