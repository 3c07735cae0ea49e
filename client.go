package duet

import (
	"context"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/duet-rtc/duet/internal/clock"
	"github.com/duet-rtc/duet/internal/device"
	"github.com/duet-rtc/duet/internal/rest"
	"github.com/duet-rtc/duet/protocol"
)

// Client is one device of one user: EMClient. Create it with NewClient, then Login. All
// methods are safe for concurrent use.
type Client struct {
	opts      Options
	log       *slog.Logger
	logCloser io.Closer
	clk       clock.Clock
	rest      *rest.Client
	queue     *SerialQueue // default delegate queue
	calls     *CallManager
	chat      *ChatManager
	presence  *PresenceManager

	mu          sync.Mutex
	username    string
	token       string
	conn        *device.Conn // nil while disconnected
	state       ConnectionState
	stop        context.CancelFunc // stops the supervisor; nil when logged out
	stopped     chan struct{}      // closed when the supervisor exits
	delegates   []connDelegate
	connectedCh chan struct{} // closed and replaced at each (re)connect
	loggingIn   bool          // a Login is between its start and its connection
	node        int           // the index in opts.nodes of the node the client talks to
	closed      bool
}

type connDelegate struct {
	d ConnectionDelegate
	q Queue
}

// NewClient validates the options and returns a logged-out client.
func NewClient(opts Options) (*Client, error) {
	if err := opts.normalize(); err != nil {
		return nil, err
	}
	c := &Client{opts: opts, clk: opts.Clock, queue: NewSerialQueue(), connectedCh: make(chan struct{}), node: firstNode(opts.nodes)}
	c.rest = &rest.Client{HTTP: opts.HTTPClient, AppPath: opts.appPath()}
	c.log, c.logCloser = newLogger(opts)
	c.calls = newCallManager(c)
	c.chat = newChatManager(c)
	c.presence = newPresenceManager(c)
	return c, nil
}

// dispatch routes a message from the server to the manager of its type.
func (c *Client) dispatch(env *protocol.Envelope) {
	if strings.HasPrefix(env.Type, "chat.") {
		c.chat.handleMessage(env)
		return
	}
	if env.Type == protocol.TypePresence {
		c.presence.handleMessage(env)
		return
	}
	c.calls.handleMessage(env)
}

// Options returns the client's options after defaults were applied.
func (c *Client) Options() Options { return c.opts }

// CallManager returns the client's call manager: EMClient.callManager.
func (c *Client) CallManager() *CallManager { return c.calls }

// CurrentUsername returns the logged-in user, or "".
func (c *Client) CurrentUsername() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.username
}

// IsConnected reports whether the device connection is up.
func (c *Client) IsConnected() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.conn != nil
}

// AddConnectionDelegate registers d; its callbacks run on q (nil: the SDK's serial queue).
func (c *Client) AddConnectionDelegate(d ConnectionDelegate, q Queue) {
	if q == nil {
		q = c.queue
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.delegates = append(c.delegates, connDelegate{d, q})
}

// RemoveConnectionDelegate unregisters d.
func (c *Client) RemoveConnectionDelegate(d ConnectionDelegate) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, e := range c.delegates {
		if e.d == d {
			c.delegates = append(c.delegates[:i], c.delegates[i+1:]...)
			return
		}
	}
}

func (c *Client) notify(f func(ConnectionDelegate)) {
	c.mu.Lock()
	ds := append([]connDelegate(nil), c.delegates...)
	c.mu.Unlock()
	for _, e := range ds {
		d := e.d
		e.q.Dispatch(func() { f(d) })
	}
}

// Login fetches a token with the password and connects the device. It returns once the
// device connection is up (or failed for good). A Login while another one is in progress or
// done on this client fails with ErrorGeneral: one client is one device, logged in once.
func (c *Client) Login(ctx context.Context, username, password string) error {
	if err := c.beginLogin(); err != nil {
		return err
	}
	err := c.onSomeNode(func() error {
		token, _, err := c.fetchToken(ctx, username, password)
		if err != nil {
			return err
		}
		return c.connect(ctx, token)
	})
	c.endLoginAttempt()
	return err
}

// LoginWithToken connects the device with a token issued by the server.
func (c *Client) LoginWithToken(ctx context.Context, username, token string) error {
	if err := c.beginLogin(); err != nil {
		return err
	}
	err := c.onSomeNode(func() error { return c.connect(ctx, token) })
	c.endLoginAttempt()
	return err
}

// onSomeNode runs f on the current node and, while f fails because the node is gone, on
// each other node once.
func (c *Client) onSomeNode(f func() error) error {
	err := f()
	for range len(c.opts.nodes) - 1 {
		if err == nil || !nodeGone(err) {
			return err
		}
		c.nextNode()
		err = f()
	}
	return err
}

// beginLogin claims the client for one login attempt.
func (c *Client) beginLogin() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.closed:
		return ErrClosed
	case c.stop != nil:
		return &Error{Code: protocol.CodeGeneral, Message: "already logged in as " + c.username}
	case c.loggingIn:
		return &Error{Code: protocol.CodeGeneral, Message: "a login is already in progress"}
	}
	c.loggingIn = true
	return nil
}

func (c *Client) endLoginAttempt() {
	c.mu.Lock()
	c.loggingIn = false
	c.mu.Unlock()
}

// connect dials the device connection and starts its supervisor.
func (c *Client) connect(ctx context.Context, token string) error {
	conn, err := dialDevice(ctx, c.dialOptions(), token, nil, c.log, c.dispatch)
	if err != nil {
		return err
	}
	runCtx, stop := context.WithCancel(context.Background()) //nolint:contextcheck // the login outlives Login's context
	c.mu.Lock()
	if c.closed { // closed while dialling
		c.mu.Unlock()
		stop()
		conn.Close()
		return ErrClosed
	}
	c.username = conn.Welcome.Username
	c.token = token
	c.stop = stop
	c.stopped = make(chan struct{})
	stopped := c.stopped
	c.mu.Unlock()
	c.setConn(conn) // connected when Login returns, not when the supervisor gets to it
	c.log.Info("logged in", "user", conn.Welcome.Username, "app", conn.Welcome.AppKey)
	go c.supervise(runCtx, conn, stopped) //nolint:contextcheck // the login outlives Login's context; Logout stops it
	return nil
}

// supervise owns the device connection: it waits for a loss and reconnects until stopped
// or refused. A loss waits out the jittered exponential backoff; a goodbye with retryAfter
// (the server drains for a restart) waits that long instead, on the client's clock, and
// resets the backoff.
func (c *Client) supervise(ctx context.Context, conn *device.Conn, stopped chan struct{}) {
	defer close(stopped)
	backoff := newBackoff()
	for {
		c.serve(ctx, conn)
		if ctx.Err() != nil {
			return
		}
		if reason := conn.KickReason(); reason >= 0 {
			c.kicked(reason)
			return
		}
		c.nextNode()
		wait := c.backoffWait(backoff)
		if after, ok := conn.RetryAfter(); ok {
			// Not a failure: the calls stay as they are, and the server that comes back (or
			// another one) resumes them when the reconnect's hello lists them.
			c.log.Info("server restarting; reconnecting after its retry-after", "retryAfter", after)
			backoff.reset()
			wait = c.serverWait(after)
		} else {
			c.log.Warn("connection lost; reconnecting", "err", conn.Err())
		}
		if conn = c.reconnect(ctx, backoff, wait); conn == nil {
			return
		}
	}
}

// serve makes conn the live connection and returns when it ends or ctx does.
func (c *Client) serve(ctx context.Context, conn *device.Conn) {
	c.setConn(conn)
	c.calls.connected(conn) //nolint:contextcheck // relay legs negotiate on their own goroutines, bounded by their own timeouts
	c.presence.connected(ctx, conn)
	pinger := c.startPinger(ctx, conn)
	select {
	case <-conn.Done():
	case <-ctx.Done():
	}
	pinger()
	conn.Close()
	c.setConn(nil)
}

// reconnect waits wait, then dials until it gets a connection, waiting the backoff (or the
// server's Retry-After) between attempts. It returns nil when the login ends instead:
// stopped, auto-reconnect off, or the token refused.
func (c *Client) reconnect(ctx context.Context, b *backoff, wait pause) *device.Conn {
	for {
		if c.opts.DisableAutoReconnect || !wait.sleep(ctx) {
			c.endLogin()
			return nil
		}
		conn, err := dialDevice(ctx, c.dialOptions(), c.currentToken(), c.calls.liveCallIDs(), c.log, c.dispatch)
		if err == nil {
			b.reset()
			return conn
		}
		if isAuthError(err) {
			c.log.Warn("token refused on reconnect", "err", err)
			c.endLogin()
			c.notify(func(d ConnectionDelegate) { d.TokenDidExpire(ErrorCodeOf(err)) })
			return nil
		}
		if isUpgradeRequired(err) {
			c.log.Error("the server no longer speaks this SDK's protocol; the app must be upgraded", "err", err)
			c.calls.endAllLocally(EndReasonFailed)
			c.endLogin()
			c.notify(func(d ConnectionDelegate) { d.UpgradeRequired() })
			return nil
		}
		c.log.Debug("reconnect failed", "err", err)
		c.nextNode()
		wait = c.backoffWait(b)
		if after, ok := device.RetryAfterOf(err); ok {
			wait = c.serverWait(after) // the server drains: it said when to come back
		}
	}
}

func (c *Client) currentToken() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.token
}

func (c *Client) setConn(conn *device.Conn) {
	c.mu.Lock()
	c.conn = conn
	state := ConnectionDisconnected
	if conn != nil {
		state = ConnectionConnected
		close(c.connectedCh)
		c.connectedCh = make(chan struct{})
	}
	changed := state != c.state
	c.state = state
	c.mu.Unlock()
	if changed {
		c.notify(func(d ConnectionDelegate) { d.ConnectionStateDidChange(state) })
	}
}

// kicked handles a "kicked" message: the device is logged out and told why.
func (c *Client) kicked(reason protocol.EndReason) {
	c.log.Warn("kicked by the server", "reason", reason)
	c.calls.endAllLocally(reason)
	c.endLogin()
	c.notify(func(d ConnectionDelegate) {
		switch reason {
		case protocol.EndLoginOtherDevice:
			d.UserAccountDidLoginFromOtherDevice()
		case protocol.EndDestroy:
			d.UserAccountDidRemoveFromServer()
		case protocol.EndTokenRevoked:
			// Logged out elsewhere or the password changed: the app must log in again.
			d.TokenDidExpire(protocol.CodeInvalidToken)
		default:
			d.UserDidForbidByServer()
		}
	})
}

// endLogin forgets the login after the supervisor gave up.
func (c *Client) endLogin() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stop != nil {
		c.stop()
	}
	c.stop = nil
	c.username, c.token = "", ""
}

// startPinger sends a ping every pingEvery and closes the connection when a ping gets no
// reply within one interval. It returns a function that stops it.
func (c *Client) startPinger(ctx context.Context, conn *device.Conn) func() {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			interval := c.pingEvery(conn)
			fired := make(chan struct{})
			t := c.opts.Clock.AfterFunc(interval, func() { close(fired) })
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-conn.Done():
				t.Stop()
				return
			case <-fired:
			}
			pctx, pcancel := context.WithTimeout(ctx, interval)
			err := conn.Request(pctx, protocol.TypePing, nil, nil)
			pcancel()
			if err != nil && ctx.Err() == nil {
				c.log.Warn("heartbeat failed; dropping the connection", "err", err)
				conn.CloseNow()
				return
			}
		}
	}()
	return func() { cancel(); <-done }
}

// pingInterval is the heartbeat interval the device asks for in hello: CallOptions'
// PingInterval when the app set one, Options.PingInterval otherwise.
func (c *Client) pingInterval() time.Duration {
	if s := c.calls.CallOptions().PingInterval; s > 0 {
		return time.Duration(s) * time.Second
	}
	return c.opts.PingInterval
}

// pingEvery is the wait before the next ping on conn: the interval the server granted, or
// a shorter one the app set since (CallOptions.PingInterval takes effect at the next ping;
// a longer one waits for the next connection, whose hello asks for it).
func (c *Client) pingEvery(conn *device.Conn) time.Duration {
	granted := time.Duration(conn.Welcome.PingInterval) * time.Second
	if granted <= 0 {
		granted = c.opts.PingInterval
	}
	return min(granted, c.pingInterval())
}

// dialOptions are the options of the next dial, with the ping interval the app set last.
func (c *Client) dialOptions() *Options {
	o := c.opts
	o.PingInterval = c.pingInterval()
	o.WebSocketURL = c.currentNode().ws
	return &o
}

// current returns the live connection or an error saying why there is none.
func (c *Client) current() (*device.Conn, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stop == nil {
		return nil, ErrNotLoggedIn
	}
	if c.conn == nil {
		return nil, &Error{Code: protocol.CodeNetworkUnavailable, Message: "not connected to the server (reconnecting)"}
	}
	return c.conn, nil
}

// request sends a request on the live connection and decodes the reply into out.
func (c *Client) request(ctx context.Context, typ string, body, out any) error {
	conn, err := c.current()
	if err != nil {
		return err
	}
	return conn.Request(ctx, typ, body, out)
}

// send sends a one-way message on the live connection.
func (c *Client) send(ctx context.Context, typ string, body any) error {
	conn, err := c.current()
	if err != nil {
		return err
	}
	return conn.Send(ctx, typ, body)
}

// Logout ends the user's calls, revokes the token on the server and disconnects. It
// returns when every goroutine of the login has finished.
func (c *Client) Logout(ctx context.Context) error {
	c.mu.Lock()
	stop, stopped, token := c.stop, c.stopped, c.token
	c.mu.Unlock()
	if stop == nil {
		return nil
	}
	c.calls.endAll(ctx, EndReasonHangup)
	revokeErr := c.doREST(ctx, http.MethodDelete, "/token", token, nil, nil)
	c.endLogin()
	<-stopped
	c.calls.endAllLocally(EndReasonHangup)
	if revokeErr != nil {
		c.log.Warn("token revoke failed", "err", revokeErr)
	}
	c.log.Info("logged out")
	return nil
}

// Close logs out (without waiting on the network for longer than a few seconds) and
// releases the log file. The client cannot be used afterwards. It waits for the callbacks
// already queued on the SDK's queue, except when it is called from one of them (or while
// one runs): those that follow then run after it returns.
func (c *Client) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	_ = c.Logout(ctx)
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.calls.close()
	c.queue.waitIdle()
	c.opts.HTTPClient.CloseIdleConnections()
	return c.logCloser.Close()
}

// backoff is jittered exponential backoff: 250 ms doubling to 10 s, ±50 %.
type backoff struct{ cur time.Duration }

func newBackoff() *backoff { return &backoff{cur: 250 * time.Millisecond} }

func (b *backoff) reset() { b.cur = 250 * time.Millisecond }

// next returns the next wait and doubles the interval.
func (b *backoff) next() time.Duration {
	d := b.cur/2 + rand.N(b.cur)
	b.cur = min(b.cur*2, 10*time.Second)
	return d
}

// maxSpread caps the random delay added to a server's retry-after.
const maxSpread = time.Second

// withSpread adds to d a random delay of up to half of it (at most maxSpread), so that the
// thousands of devices a draining server lets go do not all come back in the same
// millisecond.
func withSpread(d time.Duration) time.Duration {
	if spread := min(d/2, maxSpread); spread > 0 {
		return d + rand.N(spread)
	}
	return d
}

// pause is a wait before a reconnect, on the clock it runs on.
type pause struct {
	d   time.Duration
	clk clock.Clock
}

// serverWait is the wait a draining server asked for, spread, on the client's clock (tests
// drive it).
func (c *Client) serverWait(after time.Duration) pause { return pause{withSpread(after), c.clk} }

// backoffWait is the next failure backoff, on Options.Clock. It ignores SetTestClock: a test
// that freezes the client's clock to hold its call timers still sees it reconnect after a
// lost connection.
func (c *Client) backoffWait(b *backoff) pause { return pause{b.next(), c.opts.Clock} }

// sleep waits p.d on p.clk; it returns false if ctx ended first.
func (p pause) sleep(ctx context.Context) bool {
	fired := make(chan struct{})
	t := p.clk.AfterFunc(p.d, func() { close(fired) })
	defer t.Stop()
	select {
	case <-fired:
		return true
	case <-ctx.Done():
		return false
	}
}
