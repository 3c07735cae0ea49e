package signal

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/duet-rtc/duet/internal/clock"
	"github.com/duet-rtc/duet/protocol"
	"github.com/duet-rtc/duet/server/route"
)

const testApp = "org#app"

// wait bounds every wait for something the server does on its own goroutines.
const wait = 5 * time.Second

// testAuth maps tokens to users of testApp; a few tokens fail on purpose.
type testAuth struct{}

func (testAuth) Authenticate(_ context.Context, token string) (string, string, error) {
	switch {
	case token == "removed":
		return "", "", protocol.NewError(protocol.CodeUserRemoved, "user removed")
	case token == "broken":
		return "", "", errors.New("database is on fire")
	case strings.HasPrefix(token, "tok-"):
		return testApp, strings.TrimPrefix(token, "tok-"), nil
	}
	return "", "", protocol.NewError(protocol.CodeInvalidToken, "invalid token")
}

type onlineEvent struct {
	dev    route.Online
	resume []string
}

// recHandler records the lifecycle and answers a few test message types.
type recHandler struct {
	hub     *Hub
	online  chan onlineEvent
	offline chan route.Device
	// onOnline runs inside DeviceOnline when set; offlineGate, when set, holds DeviceOffline.
	onOnline    func(route.Online)
	offlineGate chan struct{}

	mu   sync.Mutex
	msgs []*protocol.Envelope
}

func newRecHandler() *recHandler {
	return &recHandler{online: make(chan onlineEvent, 100), offline: make(chan route.Device, 100)}
}

func (h *recHandler) DeviceOnline(dev route.Online, resume []string) {
	if h.onOnline != nil {
		h.onOnline(dev)
	}
	h.online <- onlineEvent{dev, resume}
}

func (h *recHandler) DeviceOffline(dev route.Device) {
	if h.offlineGate != nil {
		<-h.offlineGate
	}
	h.offline <- dev
}

func (h *recHandler) HandleMessage(dev route.Device, env *protocol.Envelope) *protocol.Envelope {
	h.mu.Lock()
	h.msgs = append(h.msgs, env)
	h.mu.Unlock()
	switch env.Type {
	case "test.echo":
		return &protocol.Envelope{Type: protocol.TypeReply, ID: env.ID, Data: env.Data}
	case "test.panic":
		panic("test.panic")
	}
	return protocol.NewErrorReply(env.ID, protocol.NewError(protocol.CodeUnknownMessage, "unknown type %q", env.Type))
}

func (h *recHandler) waitOnline(t *testing.T) onlineEvent {
	t.Helper()
	select {
	case ev := <-h.online:
		return ev
	case <-time.After(wait):
		t.Fatal("no DeviceOnline")
	}
	return onlineEvent{}
}

func (h *recHandler) waitOffline(t *testing.T) route.Device {
	t.Helper()
	select {
	case d := <-h.offline:
		return d
	case <-time.After(wait):
		t.Fatal("no DeviceOffline")
	}
	return route.Device{}
}

// noOffline checks that no DeviceOffline is pending now (callers make sure the hub is done).
func (h *recHandler) noOffline(t *testing.T) {
	t.Helper()
	select {
	case d := <-h.offline:
		t.Fatalf("unexpected DeviceOffline(%v)", d)
	default:
	}
}

type testEnv struct {
	hub   *Hub
	h     *recHandler
	clock *clock.Fake
	srv   *httptest.Server
	url   string
}

var epoch = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// newTestEnv starts a hub with a fake clock behind an httptest server.
func newTestEnv(t testing.TB, cfg Config) *testEnv {
	t.Helper()
	clk := clock.NewFake(epoch)
	cfg.Clock = clk
	if cfg.Logger == nil {
		cfg.Logger = quietLogger()
	}
	h := newRecHandler()
	hub := NewHub(cfg, testAuth{}, h)
	h.hub = hub
	srv := httptest.NewServer(hub)
	env := &testEnv{hub: hub, h: h, clock: clk, srv: srv, url: "ws" + strings.TrimPrefix(srv.URL, "http")}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		if err := hub.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		srv.Close()
	})
	return env
}

// client is a test device.
type client struct {
	t  testing.TB
	ws *websocket.Conn
	n  int // request ids
}

func (e *testEnv) dial(t testing.TB) *client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, e.url, nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	ws.SetReadLimit(1 << 20)
	c := &client{t: t, ws: ws}
	t.Cleanup(func() { ws.CloseNow() })
	return c
}

// login dials and says hello as user on device, and returns the client and its welcome.
func (e *testEnv) login(t testing.TB, user, device string) (*client, protocol.Welcome) {
	t.Helper()
	c := e.dial(t)
	w := c.hello(protocol.Hello{Version: protocol.Version, Token: "tok-" + user, DeviceID: device,
		Capabilities: protocol.Capabilities{Audio: true, Video: true}})
	return c, w
}

func (c *client) id() string {
	c.n++
	return fmt.Sprintf("r%d", c.n)
}

func (c *client) hello(h protocol.Hello) protocol.Welcome {
	c.t.Helper()
	id := c.id()
	c.send(protocol.NewMessage(protocol.TypeHello, id, h))
	env := c.read()
	if env.Type != protocol.TypeReply || env.ID != id || env.Error != nil {
		c.t.Fatalf("hello: got %+v (error %v)", env, env.Error)
	}
	var w protocol.Welcome
	if err := env.DecodeData(&w); err != nil {
		c.t.Fatalf("welcome: %v", err)
	}
	return w
}

func (c *client) send(env *protocol.Envelope) {
	c.t.Helper()
	b, err := env.Encode()
	if err != nil {
		c.t.Fatal(err)
	}
	c.sendRaw(b)
}

func (c *client) sendRaw(b []byte) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := c.ws.Write(ctx, websocket.MessageText, b); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

func (c *client) read() *protocol.Envelope {
	c.t.Helper()
	env, err := c.tryRead()
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	return env
}

func (c *client) tryRead() (*protocol.Envelope, error) {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	_, b, err := c.ws.Read(ctx)
	if err != nil {
		return nil, err
	}
	return protocol.DecodeEnvelope(b)
}

// request sends a request and returns its reply.
func (c *client) request(typ string, body any) *protocol.Envelope {
	c.t.Helper()
	id := c.id()
	c.send(protocol.NewMessage(typ, id, body))
	env := c.read()
	if env.ID != id {
		c.t.Fatalf("reply id %q, want %q (%+v)", env.ID, id, env)
	}
	return env
}

// expectError reads the next frame and checks that it is an error with code (as the reply to
// id when id is not empty).
func (c *client) expectError(id string, code protocol.ErrorCode) {
	c.t.Helper()
	env := c.read()
	wantType := protocol.TypeReply
	if id == "" {
		wantType = protocol.TypeError
	}
	if env.Type != wantType || env.ID != id || env.Error == nil || env.Error.Code != code {
		c.t.Fatalf("got %+v (error %+v), want a %s with id %q and code %d", env, env.Error, wantType, id, code)
	}
}

// readAll reads frames until the connection ends and returns them with the error that
// ended it.
func (c *client) readAll() ([]*protocol.Envelope, error) {
	var got []*protocol.Envelope
	for {
		env, err := c.tryRead()
		if err != nil {
			return got, err
		}
		got = append(got, env)
	}
}

// expectClose reads until the connection closes and checks the close code and, if not
// empty, the reason. Frames before the close are returned.
func (c *client) expectClose(code websocket.StatusCode, reason string) []*protocol.Envelope {
	c.t.Helper()
	got, err := c.readAll()
	var ce websocket.CloseError
	if !errors.As(err, &ce) {
		c.t.Fatalf("read ended with %v, want close %d", err, code)
	}
	if ce.Code != code || (reason != "" && ce.Reason != reason) {
		c.t.Fatalf("closed with %d %q, want %d %q", ce.Code, ce.Reason, code, reason)
	}
	return got
}

// expectCut reads until the connection ends, for a device that did not read in time: the
// hub cut its socket, though the close frame it had queued (1001) may still be read first.
// It returns the frames that came before.
func (c *client) expectCut() []*protocol.Envelope {
	c.t.Helper()
	got, err := c.readAll()
	var ce websocket.CloseError
	if errors.As(err, &ce) && ce.Code != websocket.StatusGoingAway {
		c.t.Fatalf("closed with %d %q, want a cut or 1001", ce.Code, ce.Reason)
	}
	return got
}

// waitFor polls cond, bounded in time, for state the server reaches on its own goroutines.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func dev(user, id string) route.Device { return route.Device{App: testApp, User: user, ID: id} }
