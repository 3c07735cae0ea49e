package duet_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/coder/websocket"

	"github.com/duet-rtc/duet"
	"github.com/duet-rtc/duet/protocol"
	"github.com/duet-rtc/duet/server/signal"
)

// aliceAuth accepts any token as alice of org#app.
type aliceAuth struct{}

func (aliceAuth) Authenticate(context.Context, string) (string, string, error) {
	return "org#app", "alice", nil
}

// hubServer serves a real signal hub at /ws; swap replaces it (a server upgraded in place).
type hubServer struct {
	*httptest.Server
	hub atomic.Pointer[signal.Hub]
}

func newHubServer(t *testing.T, cfg signal.Config) *hubServer {
	s := &hubServer{}
	s.swap(t, cfg)
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hub.Load().ServeHTTP(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

// refuseAuth refuses every token, as a server does once the token was revoked.
type refuseAuth struct{}

func (refuseAuth) Authenticate(context.Context, string) (string, string, error) {
	return "", "", protocol.NewError(protocol.CodeInvalidToken, "token revoked")
}

func (s *hubServer) swap(t *testing.T, cfg signal.Config) *signal.Hub {
	return s.swapAuth(t, cfg, aliceAuth{})
}

// swapAuth serves a new hub with cfg and auth and returns the old one.
func (s *hubServer) swapAuth(t *testing.T, cfg signal.Config, auth signal.Authenticator) *signal.Hub {
	cfg.Logger = slog.New(slog.DiscardHandler)
	cfg.DrainRetryAfter = -1 // devices come back with their backoff
	h := signal.NewHub(cfg, auth, nil)
	t.Cleanup(func() { _ = h.Shutdown(context.Background()) })
	return s.hub.Swap(h)
}

func newHubClient(t *testing.T, url string, versions ...int) (*duet.Client, *recorder) {
	opts := duet.Options{AppKey: "org#app", ServerURL: url}
	var c *duet.Client
	var err error
	if len(versions) > 0 {
		c, err = duet.NewClientSpeaking(opts, versions...)
	} else {
		c, err = duet.NewClient(opts)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	rec := newRecorder()
	c.AddConnectionDelegate(rec, nil)
	c.CallManager().AddDelegate(rec, nil)
	return c, rec
}

// TestOldClientNewServer: a server whose oldest protocol version is newer than every one
// the SDK speaks refuses it with 911, which the SDK reports as such: Login fails with
// ErrorUpgradeRequired, and a logged-in device whose server is upgraded under it hears
// UpgradeRequired and stops reconnecting. Neither is ever an expired token.
func TestOldClientNewServer(t *testing.T) {
	srv := newHubServer(t, signal.Config{MinVersion: 2, MaxVersion: 2})
	c, rec := newHubClient(t, srv.URL)
	err := c.LoginWithToken(ctxT(t), "alice", "tok")
	if duet.ErrorCodeOf(err) != duet.ErrorUpgradeRequired {
		t.Fatalf("login against a newer server: %v, want code %d", err, duet.ErrorUpgradeRequired)
	}

	// The same SDK against a server that still speaks 1, which is then upgraded to 2 only.
	srv2 := newHubServer(t, signal.Config{})
	c2, rec2 := newHubClient(t, srv2.URL)
	if err := c2.LoginWithToken(ctxT(t), "alice", "tok"); err != nil {
		t.Fatal(err)
	}
	old := srv2.swap(t, signal.Config{MinVersion: 2, MaxVersion: 2})
	_ = old.Shutdown(ctxT(t))
	rec2.wait(t, "upgradeRequired")
	if rec2.has("tokenExpired") || rec.has("tokenExpired") {
		t.Fatal("an upgrade required was reported as an expired token")
	}
	if c2.CurrentUsername() != "" {
		t.Fatal("still logged in after the server required an upgrade")
	}
}

// TestNewClientOldServer: an SDK that speaks versions 1 and 2 gets 1 from a server that
// speaks 1 only; an SDK that speaks only 2 is refused with 903, not as too old.
func TestNewClientOldServer(t *testing.T) {
	srv := newHubServer(t, signal.Config{})
	c, _ := newHubClient(t, srv.URL, 1, 2)
	if err := c.LoginWithToken(ctxT(t), "alice", "tok"); err != nil {
		t.Fatalf("a newer SDK that still speaks 1: %v", err)
	}
	c2, _ := newHubClient(t, srv.URL, 2)
	if err := c2.LoginWithToken(ctxT(t), "alice", "tok"); duet.ErrorCodeOf(err) != protocol.CodeUnsupportedVersion {
		t.Fatalf("an SDK that speaks only 2: %v, want 903", err)
	}
}

// TestClientIgnoresWhatItDoesNotKnow: a newer server adds fields to envelopes and bodies,
// and sends message types this SDK has never heard of; the SDK goes on as before.
func TestClientIgnoresWhatItDoesNotKnow(t *testing.T) {
	frames := []string{
		`{"type":"presence.update","data":{"user":"bob","online":true}}`,
		`{"type":"call.whisper","trace":"x","data":{"callId":"c-9","text":"hi"}}`,
		`{"type":"error","error":{"code":999,"message":"future","hint":"x"}}`,
		`{"type":"call.incoming","trace":{"id":1},"data":{"callId":"c-1","from":"bob","fromDevice":"b1",` +
			`"type":0,"ext":"e","priority":"high","newThing":{"a":[1,2]}}}`,
		`{"type":"kicked","v":2,"data":{"reason":7,"detail":"another login"}}`,
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer ws.CloseNow()
		ctx := r.Context()
		if _, _, err := ws.Read(ctx); err != nil { // hello
			return
		}
		welcome := `{"type":"reply","id":"hello","served-by":"node-3","data":{"version":1,"appKey":"org#app",` +
			`"username":"alice","deviceId":"d","pingInterval":30,"serverTime":1,"region":"eu","features":["x"]}}`
		for _, f := range append([]string{welcome}, frames...) {
			if ws.Write(ctx, websocket.MessageText, []byte(f)) != nil {
				return
			}
		}
		ws.Close(websocket.StatusNormalClosure, "") // after kicked, as a server does
	}))
	defer srv.Close()

	c, rec := newHubClient(t, srv.URL)
	if err := c.LoginWithToken(ctxT(t), "alice", "tok"); err != nil {
		t.Fatalf("login with a welcome that has new fields: %v", err)
	}
	s := rec.wait(t, "receive").session
	if s.CallID() != "c-1" || s.RemoteName() != "bob" || s.Ext() != "e" {
		t.Fatalf("incoming call %s from %s ext %q", s.CallID(), s.RemoteName(), s.Ext())
	}
	rec.wait(t, "otherDevice")
	if strings.Contains(strings.Join(rec.names(), " "), "tokenExpired") {
		t.Fatal("token expired")
	}
}
