package signal

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/coder/websocket"

	"github.com/duet-rtc/duet/internal/clock"
	"github.com/duet-rtc/duet/protocol"
	"github.com/duet-rtc/duet/server/route"
)

// Authenticator checks the user token a device presents in hello. server/account implements
// it.
type Authenticator interface {
	// Authenticate returns the token's app key ("org#app") and user. A refusal is a
	// *protocol.Error (CodeInvalidToken, CodeUserRemoved...), sent back to the device; any other
	// error is taken as the server's own failure, logged, and the device is told to try again
	// later.
	Authenticate(ctx context.Context, token string) (app, user string, err error)
}

// SessionAuthenticator is an Authenticator that also names the session a token opens (the
// token's hash, say), so that the hub can close exactly the connections of a revoked token
// (Hub.KickSession). The hub uses it when its Authenticator implements it.
type SessionAuthenticator interface {
	AuthenticateSession(ctx context.Context, token string) (app, user, session string, err error)
}

// Handler receives the lifecycle and the messages of devices: the call flow implements it.
// Its methods are called from the device's reader goroutine, never with a hub lock held, so
// they may call back into the Hub. The calls for one connection are sequential; calls for
// different connections run concurrently.
type Handler interface {
	// DeviceOnline reports an authenticated device, after its Welcome has been queued (so
	// whatever the handler sends it arrives after Welcome). resume lists the calls the device
	// believes it is in (protocol.Hello.Calls). It is called again, without DeviceOffline in
	// between, when a new connection replaces the device's old one: a reconnect.
	DeviceOnline(dev route.Online, resume []string)
	// DeviceOffline reports that a device's connection ended (closed, lost, timed out,
	// kicked). It is not called for a connection replaced by a newer one with the same device
	// id. A device coming back waits for DeviceOffline to return before its DeviceOnline.
	DeviceOffline(dev route.Device)
	// HandleMessage handles one frame from an authenticated device, any type but hello and
	// ping, and returns the reply to send back, or nil. Types it does not know get
	// CodeUnknownMessage.
	HandleMessage(dev route.Device, env *protocol.Envelope) *protocol.Envelope
}

// Hub is the signalling endpoint: it serves device WebSockets and implements route.Sender
// and route.Directory for the call flow.
type Hub struct {
	cfg     Config
	auth    Authenticator
	handler Handler
	clock   clock.Clock
	log     *slog.Logger
	m       *metrics

	// ctx bounds Authenticator calls; Shutdown cancels it.
	ctx    context.Context
	cancel context.CancelFunc

	mu      sync.RWMutex
	conns   map[*conn]struct{}             // every open connection, for Shutdown
	users   map[userKey][]*conn            // the registered connections of each user
	leaving map[route.Device]chan struct{} // devices whose DeviceOffline is running
	online  int                            // registered connections
	closed  bool                           // Shutdown has begun
	// kicks counts KickSession calls (changed under mu): a hello whose authentication
	// straddles one checks its token again.
	kicks atomic.Uint64

	// wg counts connection goroutines: readers, and writers while they run.
	wg sync.WaitGroup

	// testHookLeaving, if set, is called when a hello waits for its device's previous
	// connection to finish going offline.
	testHookLeaving func(route.Device)
}

type userKey struct{ app, user string }

var (
	_ route.Sender    = (*Hub)(nil)
	_ route.Directory = (*Hub)(nil)
	_ http.Handler    = (*Hub)(nil)
)

// NewHub makes a hub that authenticates devices with auth and passes their messages to h.
// A nil auth refuses every device; a nil h answers every message with CodeUnknownMessage.
func NewHub(cfg Config, auth Authenticator, h Handler) *Hub {
	if auth == nil {
		auth = refuseAll{} // a hub without an Authenticator lets no device in
	}
	if h == nil {
		h = nopHandler{}
	}
	cfg = cfg.withDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	return &Hub{
		cfg:     cfg,
		auth:    auth,
		handler: h,
		clock:   cfg.Clock,
		log:     cfg.Logger,
		m:       newMetrics(cfg.Metrics),
		ctx:     ctx,
		cancel:  cancel,
		conns:   make(map[*conn]struct{}),
		users:   make(map[userKey][]*conn),
		leaving: make(map[route.Device]chan struct{}),
	}
}

// ServeHTTP is the /ws endpoint: it upgrades the request to a WebSocket and hands the socket
// to a reader goroutine of its own, returning at once. Once Shutdown has begun it answers
// 503 with Retry-After (see refuseDraining).
func (h *Hub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.RLock()
	closed := h.closed
	h.mu.RUnlock()
	if closed {
		h.refuseDraining(w)
		return
	}
	c := newConn(h)
	hw := &hijackWriter{ResponseWriter: w}
	ws, err := websocket.Accept(hw, r, &websocket.AcceptOptions{
		InsecureSkipVerify: len(h.cfg.OriginPatterns) == 0,
		OriginPatterns:     h.cfg.OriginPatterns,
		CompressionMode:    websocket.CompressionDisabled,
		OnPingReceived:     c.onControl,
		OnPongReceived:     func(ctx context.Context, p []byte) { c.onControl(ctx, p) },
	})
	if err != nil {
		// Accept has answered the request already.
		h.log.Debug("signal: upgrade refused", "remote", r.RemoteAddr, "err", err)
		return
	}
	ws.SetReadLimit(protocol.MaxFrameBytes)
	c.ws, c.nc, c.br, c.rc = ws, hw.nc, hw.br, rawConn(hw.nc)

	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		ws.CloseNow()
		return
	}
	h.conns[c] = struct{}{}
	h.wg.Add(1)
	h.mu.Unlock()
	h.m.connections.Inc()

	c.mu.Lock()
	c.armLocked(h.cfg.HelloTimeout)
	c.mu.Unlock()
	go c.run() //nolint:contextcheck // a connection lives past the upgrade request that made it
}

// Send queues env for the device and reports whether it could: false when the device is not
// connected, is being closed, or has SendQueue frames waiting already, in which case it is
// dropped as a slow consumer. It never blocks on the device.
func (h *Hub) Send(to route.Device, env *protocol.Envelope) bool {
	b, err := env.Encode()
	if err != nil {
		h.log.Error("signal: cannot encode a message", "type", env.Type, "err", err)
		return false
	}
	return h.SendFrame(to, b)
}

// SendFrame is Send for a message encoded already: what another node of a cluster sends to
// a device connected here.
func (h *Hub) SendFrame(to route.Device, frame []byte) bool {
	h.mu.RLock()
	c := h.lookupLocked(to)
	h.mu.RUnlock()
	if c == nil {
		return false
	}
	return c.send(frame)
}

// KickDevice closes the device's connection as replaced (kicked, LoginOtherDevice): in a
// cluster, when the same device connected to another node, its connection here is stale.
// DeviceOffline follows.
func (h *Hub) KickDevice(dev route.Device) {
	h.mu.RLock()
	c := h.lookupLocked(dev)
	h.mu.RUnlock()
	if c != nil {
		c.closeWith(kickedOtherDevice, CloseKicked, "connected to another node", dropReplaced)
	}
}

func (h *Hub) lookupLocked(d route.Device) *conn {
	for _, c := range h.users[userKey{d.App, d.User}] {
		if c.dev.ID == d.ID {
			return c
		}
	}
	return nil
}

// OnlineDevices lists the user's connected devices with the capabilities they announced.
// Devices being closed (kicked, replaced, shut down) are left out.
func (h *Hub) OnlineDevices(app, user string) []route.Online {
	h.mu.RLock()
	defer h.mu.RUnlock()
	list := h.users[userKey{app, user}]
	if len(list) == 0 {
		return nil
	}
	out := make([]route.Online, 0, len(list))
	for _, c := range list {
		if !c.closing.Load() {
			out = append(out, route.Online{Device: c.dev, Capabilities: c.caps})
		}
	}
	return out
}

// Session names the user and the session (see SessionAuthenticator) of connected devices.
type Session struct {
	App, User, Session string
}

// Sessions lists the distinct sessions of the devices connected here, for a check of their
// tokens against the store (a revocation this hub was not told of).
func (h *Hub) Sessions() []Session {
	h.mu.RLock()
	defer h.mu.RUnlock()
	seen := make(map[Session]struct{})
	var out []Session
	for k, list := range h.users {
		for _, c := range list {
			s := Session{App: k.app, User: k.user, Session: c.session}
			if _, dup := seen[s]; dup || c.session == "" || c.closing.Load() {
				continue
			}
			seen[s] = struct{}{}
			out = append(out, s)
		}
	}
	return out
}

// Count returns the number of authenticated devices connected.
func (h *Hub) Count() int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.online
}

// Kick closes every connection of the user: each device gets kicked with reason (Destroy
// when the user was deleted, BeenKicked...), then the close. DeviceOffline follows for each.
func (h *Hub) Kick(app, user string, reason protocol.EndReason) {
	h.KickSession(app, user, "", reason)
}

// KickSession is Kick for the connections that authenticated with session (see
// SessionAuthenticator) only; "" kicks them all. A connection whose hello is still being
// checked is not in the hub yet: the Authenticator must refuse a revoked token by the time
// KickSession is called, so that such a hello fails on its own.
func (h *Hub) KickSession(app, user, session string, reason protocol.EndReason) {
	h.mu.Lock()
	h.kicks.Add(1) // a hello authenticated before this and registered after sees it
	var list []*conn
	for _, c := range h.users[userKey{app, user}] {
		if session == "" || c.session == session {
			list = append(list, c)
		}
	}
	h.mu.Unlock()
	if len(list) == 0 {
		return
	}
	frame := h.encode(protocol.NewMessage(protocol.TypeKicked, "", protocol.Kicked{Reason: reason}))
	for _, c := range list {
		c.closeWith(frame, CloseKicked, "kicked: "+reason.String(), dropKicked)
	}
}

// Disconnect closes the connection of one device, as Kick does (kicked with reason, then
// the close), and reports whether it was connected here.
func (h *Hub) Disconnect(dev route.Device, reason protocol.EndReason) bool {
	h.mu.RLock()
	found := h.lookupLocked(dev)
	h.mu.RUnlock()
	if found == nil || found.closing.Load() {
		return false
	}
	found.closeWith(h.encode(protocol.NewMessage(protocol.TypeKicked, "", protocol.Kicked{Reason: reason})), CloseKicked, "kicked: "+reason.String(), dropKicked)
	return true
}

// refuseDraining answers an upgrade that comes during a drain: 503 before any upgrade, so
// that the device sees "come back later" rather than a connection that opens and closes,
// and Retry-After so that it knows when (a load balancer may also route it elsewhere).
func (h *Hub) refuseDraining(w http.ResponseWriter) {
	if v := h.cfg.retryAfterHeader(); v != "" {
		w.Header().Set("Retry-After", v)
	}
	http.Error(w, "server restarting", http.StatusServiceUnavailable)
}

// Shutdown drains the hub: new upgrades get 503 with Retry-After, every device gets goodbye
// (with retryAfter: Config.DrainRetryAfter) and a close, and Shutdown waits for all
// connection goroutines to end, DeviceOffline calls included. When ctx ends first, the
// remaining sockets are cut and ctx's error returned.
func (h *Hub) Shutdown(ctx context.Context) error {
	h.mu.Lock()
	h.closed = true
	all := make([]*conn, 0, len(h.conns))
	for c := range h.conns {
		all = append(all, c)
	}
	h.mu.Unlock()
	h.cancel()

	bye := h.encode(protocol.NewMessage(protocol.TypeGoodbye, "", h.cfg.goodbye()))
	for _, c := range all {
		c.closeWith(bye, websocket.StatusGoingAway, "server shutdown", dropShutdown) //nolint:contextcheck // closing frames are written on the connection's own deadline
	}
	done := make(chan struct{})
	go func() {
		h.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		for _, c := range all {
			c.abort("shutdown deadline")
		}
		return ctx.Err()
	}
}

// register makes c the connection of dev and queues welcome to it, in one step under the hub
// lock so that nothing sent to dev can precede welcome; the reader writes it. A connection
// already holding dev is kicked (LoginOtherDevice) and replaced. register fails with
// errClosing when c or the hub is closing, and with CodeTooManyDevices when the user has
// MaxDevices other devices connected.
func (h *Hub) register(c *conn, dev route.Online, session string, welcome []byte, timeout int64) error {
	for {
		leaving, err := h.tryRegister(c, dev, session, welcome, timeout)
		if leaving == nil {
			return err
		}
		// The device's previous connection is going offline: let the handler hear that before
		// it hears this one come online.
		if h.testHookLeaving != nil {
			h.testHookLeaving(dev.Device)
		}
		<-leaving
	}
}

// errClosing: the connection or the hub is closing; the device needs no answer.
var errClosing = errors.New("signal: closing")

// tryRegister is one attempt of register. It returns the channel to wait on when the device
// is still leaving.
func (h *Hub) tryRegister(c *conn, dev route.Online, session string, welcome []byte, timeout int64) (chan struct{}, error) {
	elsewhere := 0
	if h.cfg.MaxDevices > 0 && h.cfg.DevicesElsewhere != nil {
		elsewhere = h.cfg.DevicesElsewhere(dev.App, dev.User, dev.ID) // before h.mu: it takes the cluster's locks
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if ch, ok := h.leaving[dev.Device]; ok {
		return ch, nil
	}
	if h.closed {
		return nil, errClosing
	}
	k := userKey{dev.App, dev.User}
	list := h.users[k]
	i := slices.IndexFunc(list, func(o *conn) bool { return o.dev.ID == dev.ID })
	if i < 0 && h.cfg.MaxDevices > 0 && liveCount(list)+elsewhere >= h.cfg.MaxDevices {
		return nil, protocol.NewError(protocol.CodeTooManyDevices,
			"user %q has %d devices connected, the most this server allows", dev.User, h.cfg.MaxDevices)
	}
	c.mu.Lock()
	ok := c.state == stateOpen
	if ok {
		c.dev, c.caps, c.timeout, c.session = dev.Device, dev.Capabilities, timeout, session
		ok = c.queueLocked(welcome)
	}
	c.mu.Unlock()
	if !ok {
		return nil, errClosing
	}

	if i >= 0 {
		old := list[i]
		old.registered = false
		list = slices.Delete(list, i, i+1)
		h.online--
		old.closeWith(kickedOtherDevice, CloseKicked, "logged in on another connection", dropReplaced)
	}
	c.registered = true
	h.users[k] = append(list, c)
	h.online++
	return nil, nil
}

// liveCount counts the connections of list that are not being closed.
func liveCount(list []*conn) int {
	n := 0
	for _, c := range list {
		if !c.closing.Load() {
			n++
		}
	}
	return n
}

// unregister forgets c. When c was the registered connection of its device it reports true
// and marks the device as leaving until offlineDone.
func (h *Hub) unregister(c *conn) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.conns, c)
	if !c.registered {
		return false
	}
	c.registered = false
	k := userKey{c.dev.App, c.dev.User}
	list := slices.DeleteFunc(h.users[k], func(o *conn) bool { return o == c })
	if len(list) == 0 {
		delete(h.users, k)
	} else {
		h.users[k] = list
	}
	h.online--
	h.leaving[c.dev] = make(chan struct{})
	return true
}

// offlineDone ends the leaving state that unregister began.
func (h *Hub) offlineDone(dev route.Device) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if ch, ok := h.leaving[dev]; ok {
		close(ch)
		delete(h.leaving, dev)
	}
}

// encode encodes a message the hub makes itself; these always encode.
func (h *Hub) encode(env *protocol.Envelope) []byte {
	b, err := env.Encode()
	if err != nil {
		h.log.Error("signal: cannot encode a message", "type", env.Type, "err", err)
	}
	return b
}

// kickedOtherDevice is the frame a replaced connection gets.
var kickedOtherDevice, _ = protocol.NewMessage(protocol.TypeKicked, "", protocol.Kicked{Reason: protocol.EndLoginOtherDevice}).Encode()

// nopHandler is the Handler of a hub made without one.
type nopHandler struct{}

func (nopHandler) DeviceOnline(route.Online, []string) {}
func (nopHandler) DeviceOffline(route.Device)          {}
func (nopHandler) HandleMessage(_ route.Device, env *protocol.Envelope) *protocol.Envelope {
	return protocol.NewErrorReply(env.ID, protocol.NewError(protocol.CodeUnknownMessage, "unknown message type %q", env.Type))
}

// refuseAll is the Authenticator of a hub made without one.
type refuseAll struct{}

func (refuseAll) Authenticate(context.Context, string) (string, string, error) {
	return "", "", protocol.NewError(protocol.CodeInvalidToken, "this server takes no device logins")
}

// OnlineUsers lists up to limit users of app with a device connected here, in no order.
func (h *Hub) OnlineUsers(app string, limit int) []string {
	h.mu.RLock()
	defer h.mu.RUnlock()
	var out []string
	for k, list := range h.users {
		if len(out) == limit {
			break
		}
		if k.app == app && len(list) > 0 {
			out = append(out, k.user)
		}
	}
	return out
}
