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
)

// Defaults for Config fields left zero.
const (
	DefaultRingTimeout    = 45 * time.Second
	DefaultReconnectGrace = 30 * time.Second
)

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

// Engine is the call state machine. It is safe for concurrent use. Everything it decides
// goes to its Output as Steps, under its lock (see Output); the Directory is also called
// under it. So neither may block or call back into the Engine, and the hub must not call
// the Engine while holding a lock that Connected or OnlineDevices takes.
type Engine struct {
	cfg    Config
	out    Output
	dir    Directory
	users  Users
	log    *slog.Logger
	ctx    context.Context // cancelled by Close, so user lookups in flight give up
	cancel context.CancelFunc
	closed atomic.Bool

	mu     sync.Mutex
	calls  map[string]*call  // live calls by id
	byUser map[userKey]*call // a user is party to at most one live call
	recent recentCalls       // recently ended calls, for idempotent end and resume
	gen    uint64            // timer generations; a fired timer whose generation is stale does nothing
	step   *Step             // what the current locked section decided
	dirty  []*call           // calls the current locked section changed
}

// New returns an Engine whose decisions go to out and which finds devices through dir.
// users may be nil (every user exists).
func New(cfg Config, out Output, dir Directory, users Users) *Engine {
	cfg = cfg.withDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	return &Engine{
		cfg: cfg, out: out, dir: dir, users: users, log: cfg.Logger,
		ctx: ctx, cancel: cancel,
		calls:  make(map[string]*call),
		byUser: make(map[userKey]*call),
		recent: newRecentCalls(2*max(cfg.RingTimeout, cfg.ReconnectGrace), recentCap),
		step:   &Step{},
	}
}

// Active returns the number of calls in progress.
func (e *Engine) Active() int {
	e.lock()
	defer e.unlock()
	return len(e.calls)
}

// Close stops every timer and refuses further requests with CodeServerShutdown. It ends no
// call and records nothing: the calls stop being tracked here and stay in the store as
// their last Step left them, for the next start to Restore.
func (e *Engine) Close() {
	e.closed.Store(true)
	e.cancel()
	e.lock()
	defer e.unlock()
	for _, c := range e.calls {
		c.stopTimers()
	}
}

// Closed reports whether Close was called: the engine decides nothing more.
func (e *Engine) Closed() bool { return e.closed.Load() }

// Shared errors; their messages never echo client input.
var (
	errInvalidID = protocol.NewError(protocol.CodeCallInvalidID, "no such call for this device")
	errShutdown  = protocol.NewError(protocol.CodeServerShutdown, "the server is shutting down")
)

// lock takes the engine's lock for one section of decisions.
func (e *Engine) lock() { e.mu.Lock() }

// unlock hands what the section decided to the Output, with the State of every live call
// it changed, and releases the lock. Apply runs under the lock so that steps reach the
// Output in the order they were decided.
func (e *Engine) unlock() {
	for _, c := range e.dirty {
		c.dirty = false
		if !c.ended {
			e.step.Saves = append(e.step.Saves, c.snapshot())
		}
	}
	clear(e.dirty)
	e.dirty = e.dirty[:0]
	if !e.step.empty() {
		e.out.Apply(e.step)
		e.step = &Step{}
	}
	e.mu.Unlock()
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
