// Package device is the Go SDK's device connection: one authenticated WebSocket to a
// duet server, its requests and replies, and what the server says about its own going away
// (kicked, goodbye, 503). The SDK's root package decides what to do about it.
package device

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/duet-rtc/duet/protocol"
)

// Conn is one authenticated WebSocket to the server. It is replaced, not reused,
// after a loss. Writes are safe from any goroutine (coder/websocket serialises them);
// one reader goroutine owns reads and dispatches.
type Conn struct {
	ws  *websocket.Conn
	log *slog.Logger
	// Welcome is the server's answer to the hello.
	Welcome protocol.Welcome
	onMsg   func(*protocol.Envelope)

	nextID atomic.Uint64

	mu      sync.Mutex
	pending map[string]chan *protocol.Envelope
	kicked  protocol.EndReason // set when the server sent "kicked"; -1 if not
	// after is the retry-after of the server's goodbye; -1 without one (no goodbye, or an
	// older server's goodbye without retryAfter).
	after  time.Duration
	closed bool

	done chan struct{} // closed when the reader exits
	err  error         // why it ended; valid after done
}

// ErrClosed is returned by requests on a connection that ended.
var ErrClosed = &protocol.Error{Code: protocol.CodeNetworkUnavailable, Message: "connection to the server lost"}

// Dial connects to url, sends hello and waits for the welcome. onMsg gets every server
// message but replies, kicked and goodbye, on the connection's reader goroutine.
func Dial(ctx context.Context, url string, hc *http.Client, hello protocol.Hello, log *slog.Logger, onMsg func(*protocol.Envelope)) (*Conn, error) {
	ws, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPClient: hc})
	if resp != nil && resp.Body != nil && err != nil {
		resp.Body.Close() // a refused upgrade: only its status and Retry-After matter
	}
	if err != nil {
		return nil, dialError(resp, err)
	}
	ws.SetReadLimit(protocol.MaxFrameBytes)
	if err := writeEnvelope(ctx, ws, protocol.NewMessage(protocol.TypeHello, "hello", hello)); err != nil {
		ws.CloseNow()
		return nil, &protocol.Error{Code: protocol.CodeServerNotReachable, Message: err.Error()}
	}
	env, err := readEnvelope(ctx, ws)
	if err != nil {
		ws.CloseNow()
		return nil, &protocol.Error{Code: protocol.CodeServerNotReachable, Message: err.Error()}
	}
	if env.Error != nil {
		ws.Close(websocket.StatusNormalClosure, "")
		return nil, env.Error
	}
	c := &Conn{ws: ws, log: log, onMsg: onMsg, pending: map[string]chan *protocol.Envelope{}, kicked: -1, after: -1, done: make(chan struct{})}
	if err := env.DecodeDataLoose(&c.Welcome); err != nil {
		ws.CloseNow()
		return nil, err
	}
	go c.readLoop() //nolint:contextcheck // the connection outlives the dial's context
	return c, nil
}

// retryLaterError is an upgrade refused with 503: the server drains for a restart (or a
// proxy has no server for now). It is no failure of the device's: it reconnects after the
// Retry-After the server sent.
type retryLaterError struct {
	err   *protocol.Error // CodeServerBusy
	after time.Duration
}

func (e *retryLaterError) Error() string { return e.err.Error() }

// Unwrap lets errors.As and ErrorCodeOf see the coded error.
func (e *retryLaterError) Unwrap() error { return e.err }

// dialError makes the error of a failed WebSocket dial: a retryLaterError for a 503 with a
// usable Retry-After, ServerNotReachable otherwise.
func dialError(resp *http.Response, err error) error {
	e := &protocol.Error{Code: protocol.CodeServerNotReachable, Message: err.Error()}
	if resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		return e
	}
	e.Code = protocol.CodeServerBusy
	// Retry-After may also be an HTTP date; a draining duet server sends seconds, and
	// anything else falls back to the backoff.
	secs, perr := strconv.Atoi(resp.Header.Get("Retry-After"))
	if perr != nil || secs <= 0 || secs*1000 > protocol.MaxRetryAfterMillis {
		return e
	}
	return &retryLaterError{err: e, after: time.Duration(secs) * time.Second}
}

// RetryAfterOf returns how long the server asked to wait before the next dial, if it did.
func RetryAfterOf(err error) (time.Duration, bool) {
	var r *retryLaterError
	if errors.As(err, &r) {
		return r.after, true
	}
	return 0, false
}

func writeEnvelope(ctx context.Context, ws *websocket.Conn, env *protocol.Envelope) error {
	b, err := env.Encode()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return ws.Write(ctx, websocket.MessageText, b)
}

func readEnvelope(ctx context.Context, ws *websocket.Conn) (*protocol.Envelope, error) {
	_, b, err := ws.Read(ctx)
	if err != nil {
		return nil, err
	}
	return DecodeFrame(b)
}

// DecodeFrame decodes a frame from the server. Unknown fields are ignored (so that an
// older SDK keeps working against a newer server); unknown types reach the managers, which
// ignore them.
func DecodeFrame(b []byte) (*protocol.Envelope, error) {
	env, err := protocol.DecodeEnvelope(b)
	if err != nil {
		return nil, err
	}
	return env, nil
}

func (c *Conn) readLoop() {
	defer close(c.done)
	defer c.failPending()
	for {
		_, b, err := c.ws.Read(context.Background())
		if err != nil {
			c.err = err
			return
		}
		env, err := DecodeFrame(b)
		if err != nil {
			c.log.Warn("undecodable frame from server", "err", err)
			continue
		}
		c.Handle(env)
	}
}

// Handle handles one frame from the server: replies, kicked and goodbye here, the rest by
// the managers. Nothing the server sends may panic it (FuzzServerFrame).
func (c *Conn) Handle(env *protocol.Envelope) {
	switch env.Type {
	case protocol.TypeReply:
		c.deliverReply(env)
	case protocol.TypeKicked:
		var k protocol.Kicked
		_ = env.DecodeDataLoose(&k)
		c.mu.Lock()
		c.kicked = max(k.Reason, 0) // -1 means "not kicked"
		c.mu.Unlock()
	case protocol.TypeGoodbye:
		c.onGoodbye(env)
	default:
		c.onMsg(env)
	}
}

func (c *Conn) deliverReply(env *protocol.Envelope) {
	c.mu.Lock()
	ch := c.pending[env.ID]
	delete(c.pending, env.ID)
	c.mu.Unlock()
	if ch != nil {
		ch <- env
	}
}

func (c *Conn) failPending() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	for id, ch := range c.pending {
		close(ch)
		delete(c.pending, id)
	}
}

// onGoodbye notes the retry-after of the server's goodbye; the close follows. A value out of
// range is ignored, as if absent: the device then reconnects with its backoff.
func (c *Conn) onGoodbye(env *protocol.Envelope) {
	var g protocol.Goodbye
	err := env.DecodeDataLoose(&g)
	if err == nil {
		err = g.Check()
	}
	if err != nil {
		c.log.Warn("goodbye with a bad retryAfter; reconnecting with backoff", "err", err)
		return
	}
	c.log.Info("the server says goodbye", "reason", g.Reason, "retryAfter", g.RetryAfter)
	if g.RetryAfter > 0 {
		c.mu.Lock()
		c.after = time.Duration(g.RetryAfter) * time.Millisecond
		c.mu.Unlock()
	}
}

// RetryAfter returns the retry-after of the server's goodbye, if it sent one with it.
func (c *Conn) RetryAfter() (time.Duration, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.after, c.after >= 0
}

// KickReason returns the reason of a "kicked" message, or -1.
func (c *Conn) KickReason() protocol.EndReason {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.kicked
}

// Send writes a one-way message.
func (c *Conn) Send(ctx context.Context, typ string, body any) error {
	if err := writeEnvelope(ctx, c.ws, protocol.NewMessage(typ, "", body)); err != nil {
		return ErrClosed
	}
	return nil
}

// Request sends a message and waits for its reply, decoding the reply body into out.
func (c *Conn) Request(ctx context.Context, typ string, body, out any) error {
	id := strconv.FormatUint(c.nextID.Add(1), 36)
	ch := make(chan *protocol.Envelope, 1)
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return ErrClosed
	}
	c.pending[id] = ch
	c.mu.Unlock()
	if err := writeEnvelope(ctx, c.ws, protocol.NewMessage(typ, id, body)); err != nil {
		c.mu.Lock()
		delete(c.pending, id)
		c.mu.Unlock()
		return ErrClosed
	}
	select {
	case env, ok := <-ch:
		if !ok {
			return ErrClosed
		}
		if env.Error != nil {
			return env.Error
		}
		if out != nil {
			return env.DecodeDataLoose(out)
		}
		return nil
	case <-ctx.Done():
		c.mu.Lock()
		delete(c.pending, id)
		c.mu.Unlock()
		return fmt.Errorf("duet: %s: %w", typ, ctx.Err())
	}
}

// Close ends the connection and waits for the reader to exit.
func (c *Conn) Close() {
	c.ws.Close(websocket.StatusNormalClosure, "bye")
	select {
	case <-c.done:
	case <-time.After(3 * time.Second):
		c.ws.CloseNow()
		<-c.done
	}
}

// CloseNow cuts the connection at once (a heartbeat that went unanswered).
func (c *Conn) CloseNow() { c.ws.CloseNow() }

// Done is closed when the connection ended.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Err says why the connection ended; valid once Done is closed.
func (c *Conn) Err() error { return c.err }

// NewForTest returns a connection without a socket whose Handle a test or fuzz target
// drives, delivering messages to onMsg.
func NewForTest(log *slog.Logger, onMsg func(*protocol.Envelope)) *Conn {
	return &Conn{log: log, onMsg: onMsg, pending: map[string]chan *protocol.Envelope{}, kicked: -1, after: -1, done: make(chan struct{})}
}
