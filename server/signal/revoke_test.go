package signal

import (
	"context"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/coder/websocket"

	"github.com/duet-rtc/duet/protocol"
)

// sessionAuth is a SessionAuthenticator whose tokens can be revoked, and whose next
// authentication can be held at a gate (to revoke the token meanwhile).
type sessionAuth struct {
	mu      sync.Mutex
	revoked map[string]bool
	gate    chan struct{}
	entered chan struct{}
}

func (a *sessionAuth) Authenticate(ctx context.Context, token string) (string, string, error) {
	app, user, _, err := a.AuthenticateSession(ctx, token)
	return app, user, err
}

func (a *sessionAuth) AuthenticateSession(_ context.Context, token string) (string, string, string, error) {
	a.mu.Lock()
	gate, revoked := a.gate, a.revoked[token]
	a.gate = nil
	a.mu.Unlock()
	if revoked {
		return "", "", "", protocol.NewError(protocol.CodeInvalidToken, "revoked")
	}
	if gate != nil {
		a.entered <- struct{}{}
		<-gate
	}
	user, _, _ := strings.Cut(strings.TrimPrefix(token, "tok-"), "/")
	return testApp, user, "s-" + token, nil
}

func (a *sessionAuth) revoke(token string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.revoked[token] = true
}

func newSessionEnv(t *testing.T, cfg Config) (*testEnv, *sessionAuth) {
	t.Helper()
	auth := &sessionAuth{revoked: map[string]bool{}, entered: make(chan struct{}, 1)}
	cfg.Logger = quietLogger()
	h := newRecHandler()
	hub := NewHub(cfg, auth, h)
	h.hub = hub
	srv := httptest.NewServer(hub)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		hub.Shutdown(ctx)
		srv.Close()
	})
	return &testEnv{hub: hub, h: h, srv: srv, url: "ws" + strings.TrimPrefix(srv.URL, "http")}, auth
}

func helloWith(token, device string) protocol.Hello {
	return protocol.Hello{Version: protocol.Version, Token: token, DeviceID: device}
}

func TestKickSessionClosesOnlyThatToken(t *testing.T) {
	e, auth := newSessionEnv(t, Config{})
	a := e.dial(t)
	a.hello(helloWith("tok-alice/1", "phone"))
	b := e.dial(t)
	b.hello(helloWith("tok-alice/2", "laptop"))
	auth.revoke("tok-alice/1")
	e.hub.KickSession(testApp, "alice", "s-tok-alice/1", protocol.EndTokenRevoked)
	frames := a.expectClose(CloseKicked, "")
	var k protocol.Kicked
	if len(frames) == 0 || frames[len(frames)-1].DecodeData(&k) != nil || k.Reason != protocol.EndTokenRevoked {
		t.Fatalf("frames before the close: %+v", frames)
	}
	if env := b.request(protocol.TypePing, nil); env.Error != nil {
		t.Fatalf("the other token's device: %+v", env.Error)
	}
}

// TestRevokedWhileAuthenticating: the token is revoked while its hello is being checked,
// before the connection is registered (KickSession finds nothing to kick): the hello is
// checked again after its welcome and the connection kicked.
func TestRevokedWhileAuthenticating(t *testing.T) {
	e, auth := newSessionEnv(t, Config{})
	gate := make(chan struct{})
	auth.gate = gate
	c := e.dial(t)
	c.send(protocol.NewMessage(protocol.TypeHello, "h", helloWith("tok-alice/1", "phone")))
	<-auth.entered
	auth.revoke("tok-alice/1")
	e.hub.KickSession(testApp, "alice", "s-tok-alice/1", protocol.EndTokenRevoked)
	close(gate)
	frames := c.expectClose(CloseKicked, "")
	if len(frames) != 2 || frames[0].ID != "h" || frames[1].Type != protocol.TypeKicked {
		t.Fatalf("frames %+v, want the welcome then kicked", frames)
	}
}

func TestMaxDevices(t *testing.T) {
	e, _ := newSessionEnv(t, Config{MaxDevices: 2})
	a := e.dial(t)
	a.hello(helloWith("tok-alice/1", "d1"))
	b := e.dial(t)
	b.hello(helloWith("tok-alice/1", "d2"))
	c := e.dial(t)
	c.send(protocol.NewMessage(protocol.TypeHello, "h", helloWith("tok-alice/1", "d3")))
	c.expectError("h", protocol.CodeTooManyDevices)
	c.expectClose(websocket.StatusTryAgainLater, "")
	// Another user is not affected, and d1 replacing itself is not a third device.
	e.dial(t).hello(helloWith("tok-bob/1", "d1"))
	e.dial(t).hello(helloWith("tok-alice/1", "d1"))
}
