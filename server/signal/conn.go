package signal

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"net"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/coder/websocket"

	"github.com/duet-rtc/duet/internal/clock"
	"github.com/duet-rtc/duet/protocol"
	"github.com/duet-rtc/duet/server/route"
)

// Connection states. They only move forward.
const (
	stateOpen    = iota // reading and writing
	stateClosing        // a close is under way: nothing more is queued, frames read are dropped
	stateClosed         // the reader has ended
)

// conn is one device connection. The reader goroutine (run) owns the fields marked "reader";
// mu guards the send queue, the state and the timer; hub.mu guards registered, and dev and
// caps once registered (they do not change after that).
type conn struct {
	hub *Hub
	ws  *websocket.Conn
	nc  net.Conn // the hijacked socket, to cut it without the WebSocket library's locks
	// br is the socket's read buffer, read by the library. rc, if not nil, is the socket to
	// wait on while idle (see waitReadable). brMu keeps the reader's look at br.Buffered
	// apart from the writer's close handshake, the only other reader of br.
	br   *bufio.Reader
	rc   syscall.RawConn
	brMu sync.Mutex

	dev        route.Device
	caps       protocol.Capabilities
	session    string // the session its token opened, for KickSession
	registered bool   // hub.mu: the hub routes dev to this connection

	lastSeen atomic.Int64 // unix nanoseconds, hub clock: the last frame from the device
	closing  atomic.Bool  // state != stateOpen, readable without mu

	mu           sync.Mutex
	state        int
	queue        [][]byte // encoded frames waiting for the writer
	writing      bool     // a goroutine owns the socket's writes (see writer.go)
	closeStarted bool     // the close handshake has begun
	aborted      bool     // the socket was cut: no close handshake
	closeCode    websocket.StatusCode
	closeReason  string
	dropReason   string // the duet_disconnects_total reason, set by the first close
	timeout      int64  // heartbeat timeout in nanoseconds; 0 until hello succeeds
	timer        clock.Timer
	timerGen     uint32 // identifies the current timer: an older one that fires does nothing

	bucket    tokenBucket // reader
	badFrames int         // reader
}

func newConn(h *Hub) *conn {
	c := &conn{hub: h}
	now := h.clock.Now().UnixNano()
	c.lastSeen.Store(now)
	c.bucket = tokenBucket{tokens: float64(h.cfg.RateBurst), last: now}
	return c
}

// framePool recycles the buffers frames are read into. Decoding copies what it keeps
// (strings, json.RawMessage), so a buffer is free again once its frame is handled.
var framePool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// run is the reader: hello, then frames until the socket ends. It is started with the hub's
// wait group counting it, and keeps that count across the goroutines it hands over to.
func (c *conn) run() {
	c.read()
}

// read reads and handles frames. When the socket has nothing more to read it hands the
// wait to a new goroutine (waitThenRead) and returns, so that the goroutine that handled
// frames, with the stack they grew, ends: an idle device costs a goroutine with the
// smallest stack, parked in the poller (most devices are idle most of the time, and the
// garbage collector only halves a parked goroutine's stack when it uses a quarter of it).
// A frame is read at once on entry: the hello (a new connection is not idle, and the hello
// may have come pipelined behind the upgrade), or what woke waitThenRead.
func (c *conn) read() {
	ended := true
	defer func() {
		if ended {
			c.finish()
		}
		c.hub.wg.Done()
	}()
	defer c.recoverPanic("reader")

	for first := true; ; first = false {
		if !first && c.idle() {
			ended = false
			c.hub.wg.Add(1)
			go c.waitThenRead()
			return
		}
		if !c.readFrame() {
			return
		}
	}
}

// waitThenRead waits until the idle socket has something to read, then reads.
func (c *conn) waitThenRead() {
	waitReadable(c.rc)
	c.read()
}

// readFrame reads and handles one frame, and reports whether reading goes on.
func (c *conn) readFrame() bool {
	typ, r, err := c.ws.Reader(context.Background())
	if err != nil {
		c.readEnded(err)
		return false
	}
	buf := framePool.Get().(*bytes.Buffer)
	buf.Reset()
	if _, err = buf.ReadFrom(r); err == nil {
		c.touch()
		if !c.closing.Load() {
			// After a close has begun, frames are read only to reach the peer's close.
			c.handle(typ, buf.Bytes())
			c.flushFromReader()
		}
	}
	if buf.Cap() <= 2*protocol.MaxFrameBytes {
		framePool.Put(buf)
	}
	if err != nil {
		c.readEnded(err)
		return false
	}
	return true
}

// idle reports whether the socket can be waited on directly (see rawConn) and nothing the
// device sent is buffered: the next read would block.
func (c *conn) idle() bool {
	if c.rc == nil {
		return false
	}
	c.brMu.Lock()
	defer c.brMu.Unlock()
	return c.br.Buffered() == 0
}

// readEnded notes why reading stopped.
func (c *conn) readEnded(err error) {
	if errors.Is(err, websocket.ErrMessageTooBig) {
		// The library has sent close 1009 already.
		c.hub.m.tooBig.Inc()
		c.setDropReason(dropPolicy)
	}
	c.hub.log.Debug("signal: connection ended", "remote", c.nc.RemoteAddr(), "app", c.dev.App,
		"user", c.dev.User, "device", c.dev.ID, "err", err)
}

// handle handles one frame; the first one must be hello.
func (c *conn) handle(typ websocket.MessageType, frame []byte) {
	if c.dev.ID == "" {
		c.hello(typ, frame)
		return
	}
	env, err := protocol.DecodeEnvelope(frame)
	if err == nil && typ != websocket.MessageText {
		err = protocol.NewError(protocol.CodeBadMessage, "frames must be text")
	}
	if !c.bucket.allow(c.lastSeen.Load(), c.hub.cfg.RateLimit, c.hub.cfg.RateBurst) {
		c.hub.m.rateLimited.Inc()
		if c.bucket.refused > c.hub.cfg.RateBurst {
			c.closeWith(nil, websocket.StatusPolicyViolation, "rate limit exceeded", dropPolicy)
			return
		}
		c.reply(c.hub.encode(protocol.NewErrorReply(idOf(env), protocol.NewError(protocol.CodeRateLimited, "more than %g messages a second", c.hub.cfg.RateLimit))))
		return
	}
	if err != nil {
		c.badFrame(idOf(env), err)
		return
	}
	c.hub.m.messagesIn.Inc()
	switch env.Type {
	case protocol.TypePing:
		if env.ID != "" {
			c.reply(c.hub.encode(protocol.NewReply(env.ID, protocol.Pong{ServerTime: c.hub.clock.Now().UnixMilli()})))
		}
	case protocol.TypeHello:
		c.badFrame(env.ID, protocol.NewError(protocol.CodeBadMessage, "hello was already received"))
	default:
		var reply *protocol.Envelope
		if c.callHandler(func() { reply = c.hub.handler.HandleMessage(c.dev, env) }) && reply != nil {
			if ignorable(env, reply) {
				return
			}
			b, err := reply.Encode()
			if err != nil {
				c.hub.log.Error("signal: cannot encode a reply", "type", reply.Type, "err", err)
				return
			}
			c.reply(b)
		}
	}
}

// ignorable reports whether reply refuses a one-way message of a type the server does not
// know: a newer client may send optional messages an older server ignores (docs/PROTOCOL.md,
// "Compatibility"). A request of an unknown type still gets its 901, so that the client
// knows the server cannot do it.
func ignorable(env, reply *protocol.Envelope) bool {
	return env.ID == "" && reply.Error != nil && reply.Error.Code == protocol.CodeUnknownMessage
}

func idOf(env *protocol.Envelope) string {
	if env == nil {
		return ""
	}
	return env.ID
}

// badFrame answers a frame the hub refuses and closes the connection after too many.
func (c *conn) badFrame(id string, err error) {
	c.hub.m.badFrames.Inc()
	c.badFrames++
	if c.badFrames > c.hub.cfg.MaxBadFrames {
		c.closeWith(nil, websocket.StatusPolicyViolation, "too many bad frames", dropPolicy)
		return
	}
	c.reply(c.hub.encode(protocol.NewErrorReply(id, err)))
}

// callHandler calls f, a Handler method, and reports whether it returned. A panic is logged
// and closes the connection with 1011: the handler's state for the device is suspect.
func (c *conn) callHandler(f func()) (ok bool) {
	defer func() {
		if r := recover(); r != nil {
			c.hub.log.Error("signal: handler panic", "app", c.dev.App, "user", c.dev.User,
				"device", c.dev.ID, "panic", r, "stack", string(debug.Stack()))
			c.closeWith(nil, websocket.StatusInternalError, "internal error", dropInternal)
		}
	}()
	f()
	return true
}

// recoverPanic is the last line of defence of the connection's goroutines: a panic in the
// hub's own code is logged and the socket cut, never the process brought down.
func (c *conn) recoverPanic(where string) {
	if r := recover(); r != nil {
		c.hub.log.Error("signal: panic in connection "+where, "remote", c.nc.RemoteAddr(),
			"panic", r, "stack", string(debug.Stack()))
		c.setDropReason(dropInternal)
		c.abort("panic")
	}
}

// onControl counts a WebSocket ping or pong from the device as a sign of life.
func (c *conn) onControl(context.Context, []byte) bool {
	c.touch()
	return true
}

func (c *conn) touch() { c.lastSeen.Store(c.hub.clock.Now().UnixNano()) }

// send queues an encoded frame; see Hub.Send.
func (c *conn) send(b []byte) bool {
	if b == nil {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.enqueueLocked(b)
}

// closeWith queues final (if not nil) and then a close with code and reason: the writer
// sends them and performs the close handshake, the reader drops whatever else arrives and
// ends when the socket does. The socket is cut if the handshake takes longer than
// CloseTimeout. Only the first close counts: closeWith reports whether this was it.
func (c *conn) closeWith(final []byte, code websocket.StatusCode, reason, drop string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closeWithLocked(final, code, reason, drop)
}

func (c *conn) closeWithLocked(final []byte, code websocket.StatusCode, reason, drop string) bool {
	if c.state != stateOpen {
		return false
	}
	c.state = stateClosing
	c.closing.Store(true)
	c.closeCode, c.closeReason = code, reason
	if c.dropReason == "" {
		c.dropReason = drop
	}
	if final != nil {
		c.queue = append(c.queue, final)
	}
	c.armLocked(c.hub.cfg.CloseTimeout)
	c.startWriterLocked()
	return true
}

// abort cuts the socket at once, without a close frame: the reader and any writer fail and
// end.
func (c *conn) abort(why string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.abortLocked(why)
}

func (c *conn) abortLocked(why string) {
	if c.state == stateOpen {
		c.state = stateClosing
		c.closing.Store(true)
	}
	if c.aborted {
		return
	}
	c.aborted = true
	c.queue = nil
	c.hub.log.Debug("signal: connection cut", "remote", c.nc.RemoteAddr(), "app", c.dev.App,
		"user", c.dev.User, "device", c.dev.ID, "why", why)
	c.nc.Close()
}

func (c *conn) setDropReason(r string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dropReason == "" {
		c.dropReason = r
	}
}

// finish runs when the reader ends: it releases the socket, forgets the connection and tells
// the handler the device is offline (unless a newer connection took it over).
func (c *conn) finish() {
	c.mu.Lock()
	c.state = stateClosed
	c.closing.Store(true)
	c.queue = nil
	c.stopTimerLocked()
	drop := c.dropReason
	c.mu.Unlock()
	if drop == "" {
		drop = dropClient
	}
	c.hub.m.disconnects.WithLabelValues(drop).Inc()
	c.hub.m.connections.Dec()

	wasOnline := c.hub.unregister(c)
	c.nc.Close()
	c.ws.CloseNow()
	if wasOnline {
		defer c.hub.offlineDone(c.dev)
		c.callHandler(func() { c.hub.handler.DeviceOffline(c.dev) })
	}
}
