package callflow

import (
	"context"
	"crypto/rand"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/duet-rtc/duet/internal/clock"
	"github.com/duet-rtc/duet/protocol"
	"github.com/duet-rtc/duet/server/route"
	"github.com/duet-rtc/duet/server/store"
)

// Defaults for Config fields left zero.
const (
	DefaultRingTimeout    = 45 * time.Second
	DefaultReconnectGrace = 30 * time.Second
)

// Recorder receives the record of every ended call, exactly once per call. Record must not
// block: the engine calls it from request handlers and timer callbacks (never under its lock).
type Recorder interface {
	Record(rec store.CallRecord)
}

// Users tells whether a callee exists. The engine calls it before taking its lock, since it
// may do I/O.
type Users interface {
	Exists(ctx context.Context, app, user string) (bool, error)
}

// Config tunes an Engine. Zero fields take their defaults.
type Config struct {
	// RingTimeout is how long a call rings before it ends NoResponse. Default 45s.
	RingTimeout time.Duration
	// ReconnectGrace is how long the caller device or the answering device may be
	// disconnected before its call ends Failed. Default 30s.
	ReconnectGrace time.Duration
	// ICEServers returns the STUN/TURN servers one party gets for a call. May be nil. It is
	// called before the engine's lock is taken.
	ICEServers func(app, user string, callID string) []protocol.ICEServer
	// Pusher sends an offline push for an invite to a callee without an online device and
	// reports whether any push went out. May be nil. It is called without the engine's lock.
	Pusher func(app, callee string, inv protocol.CallIncoming, offlineText string) bool
	// OnEvent observes every step of every call (see Event). May be nil. It is called under
	// the engine's lock, in the order the steps happen, so it must not block and must not
	// call back into the Engine: queue the event and return.
	OnEvent func(Event)
	// Clock drives the ring and grace timers. Default clock.Real{}.
	Clock clock.Clock
	// Logger receives debug lines on call ends and warnings on lookup failures. Default
	// slog.Default().
	Logger *slog.Logger
	// NewID makes call ids. Default: 128 random bits as 26 base32 characters.
	NewID func() string
}

func (c Config) withDefaults() Config {
	if c.RingTimeout <= 0 {
		c.RingTimeout = DefaultRingTimeout
	}
	if c.ReconnectGrace <= 0 {
		c.ReconnectGrace = DefaultReconnectGrace
	}
	if c.Clock == nil {
		c.Clock = clock.Real{}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.NewID == nil {
		c.NewID = rand.Text
	}
	return c
}

// Engine is the call state machine. It is safe for concurrent use. It calls the Sender and
// the Directory while holding its lock, so those must not block and must not call back into
// the Engine (route's contract); the hub must not call the Engine while holding a lock that
// Send or OnlineDevices takes.
type Engine struct {
	cfg    Config
	send   route.Sender
	dir    route.Directory
	users  Users
	rec    Recorder
	log    *slog.Logger
	ctx    context.Context // cancelled by Close, so user lookups in flight give up
	cancel context.CancelFunc
	closed atomic.Bool

	mu      sync.Mutex
	calls   map[string]*call  // live calls by id
	byUser  map[userKey]*call // a user is party to at most one live call
	recent  recentCalls       // recently ended calls, for idempotent end and resume
	records []store.CallRecord
	gen     uint64 // timer generations; a fired timer whose generation is stale does nothing
}

// New returns an Engine that sends through send and finds devices through dir. users may be
// nil (every user exists) and rec may be nil (records are dropped).
func New(cfg Config, send route.Sender, dir route.Directory, users Users, rec Recorder) *Engine {
	cfg = cfg.withDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	return &Engine{
		cfg: cfg, send: send, dir: dir, users: users, rec: rec, log: cfg.Logger,
		ctx: ctx, cancel: cancel,
		calls:  make(map[string]*call),
		byUser: make(map[userKey]*call),
		recent: newRecentCalls(2*cfg.RingTimeout, recentCap),
	}
}

// Active returns the number of calls in progress.
func (e *Engine) Active() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.calls)
}

// Close stops every timer and refuses further messages with CodeServerShutdown. It ends no
// call and records nothing: the calls simply stop being tracked.
func (e *Engine) Close() {
	e.closed.Store(true)
	e.cancel()
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, c := range e.calls {
		c.stopTimers()
	}
}

// HandleMessage handles one call.* request from dev and returns its reply: nil when the
// request had no id and succeeded. A successful call.invite is the exception: the engine
// sends its reply through the Sender itself, ahead of the call events it causes (so the
// caller learns the call id before call.ringing or call.ended), and returns nil.
func (e *Engine) HandleMessage(dev route.Device, env *protocol.Envelope) *protocol.Envelope {
	if env == nil {
		return protocol.NewErrorReply("", protocol.NewError(protocol.CodeBadMessage, "empty message"))
	}
	if e.closed.Load() {
		return protocol.NewErrorReply(env.ID, errShutdown)
	}
	var err error
	switch env.Type {
	case protocol.TypeCallInvite:
		return e.handleInvite(dev, env)
	case protocol.TypeCallAnswer:
		err = e.handleAnswer(dev, env)
	case protocol.TypeCallEnd:
		err = e.handleEnd(dev, env)
	case protocol.TypeCallSignal:
		err = e.handleSignal(dev, env)
	case protocol.TypeCallConnect:
		err = e.handleConnect(dev, env)
	case protocol.TypeCallStream:
		err = e.handleStream(dev, env)
	default:
		err = protocol.NewError(protocol.CodeUnknownMessage, "unknown message type %q", env.Type)
	}
	if err != nil {
		return protocol.NewErrorReply(env.ID, err)
	}
	if env.ID == "" {
		return nil
	}
	return protocol.NewReply(env.ID, nil)
}

// Shared errors; their messages never echo client input.
var (
	errInvalidID = protocol.NewError(protocol.CodeCallInvalidID, "no such call for this device")
	errShutdown  = protocol.NewError(protocol.CodeServerShutdown, "the server is shutting down")
)

// unlock releases the lock and then hands the records of calls that ended meanwhile to the
// Recorder, so a slow Recorder never holds up the engine.
func (e *Engine) unlock() {
	recs := e.records
	e.records = nil
	e.mu.Unlock()
	if e.rec == nil {
		return
	}
	for i := range recs {
		e.rec.Record(recs[i])
	}
}

// live returns the live call id of app, or nil. Another app's call is never visible.
func (e *Engine) live(app, id string) *call {
	c := e.calls[id]
	if c == nil || c.app != app {
		return nil
	}
	return c
}

func (e *Engine) now() time.Time { return e.cfg.Clock.Now() }
