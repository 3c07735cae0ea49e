package duet_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/duet-rtc/duet"
	"github.com/duet-rtc/duet/internal/leaktest"
	"github.com/duet-rtc/duet/server/servertest"
	"github.com/duet-rtc/duet/server/signal"
)

// hook is a delegate that runs act once, from inside the callback named on.
type hook struct {
	duet.CallManagerDelegateBase
	duet.ConnectionDelegateBase
	on   string
	act  func(s *duet.CallSession)
	once sync.Once
	done chan struct{} // closed when act returned
}

func newHook(on string, act func(*duet.CallSession)) *hook {
	return &hook{on: on, act: act, done: make(chan struct{})}
}

func (h *hook) run(name string, s *duet.CallSession) {
	if name == h.on {
		h.once.Do(func() { h.act(s); close(h.done) })
	}
}

func (h *hook) CallDidReceive(s *duet.CallSession)                        { h.run("receive", s) }
func (h *hook) CallDidConnect(s *duet.CallSession)                        { h.run("connect", s) }
func (h *hook) CallDidAccept(s *duet.CallSession)                         { h.run("accept", s) }
func (h *hook) CallDidEnd(s *duet.CallSession, _ duet.EndReason, _ error) { h.run("end", s) }
func (h *hook) ConnectionStateDidChange(duet.ConnectionState)             { h.run("state", nil) }
func (h *hook) UserAccountDidLoginFromOtherDevice()                       { h.run("otherDevice", nil) }
func (h *hook) TokenDidExpire(duet.ErrorCode)                             { h.run("tokenExpired", nil) }
func (h *hook) UpgradeRequired()                                          { h.run("upgradeRequired", nil) }

// waitDone fails the test if the hooked callback did not run its action to the end: the
// action deadlocked inside the callback (or the callback never came).
func (h *hook) waitDone(t *testing.T) {
	t.Helper()
	select {
	case <-h.done:
	case <-time.After(20 * time.Second):
		t.Fatalf("the action in %s did not return within 20 s", h.on)
	}
}

// callbackActions are what an app calls from its callbacks.
func callbackActions(c *duet.Client) map[string]func(*duet.CallSession) {
	ctx := func() (context.Context, context.CancelFunc) {
		return context.WithTimeout(context.Background(), 10*time.Second)
	}
	return map[string]func(*duet.CallSession){
		"Close": func(*duet.CallSession) { c.Close() },
		"Logout": func(*duet.CallSession) {
			ctx, cancel := ctx()
			defer cancel()
			_ = c.Logout(ctx)
		},
		"EndCall": func(s *duet.CallSession) {
			ctx, cancel := ctx()
			defer cancel()
			id := "none"
			if s != nil {
				id = s.CallID()
			}
			_ = c.CallManager().EndCall(ctx, id, duet.EndReasonHangup)
		},
		"StartCall": func(*duet.CallSession) {
			ctx, cancel := ctx()
			defer cancel()
			if s, err := c.CallManager().StartCall(ctx, duet.CallTypeVoice, "cb-alice", ""); err == nil {
				_ = c.CallManager().EndCall(ctx, s.CallID(), duet.EndReasonHangup)
			}
		},
	}
}

// cbClient is a client of srv with a recorder on every delegate, not logged in, for a user
// added beforehand.
func cbClient(t *testing.T, srv *servertest.Server, mod ...func(*duet.Options)) (*duet.Client, *recorder) {
	t.Helper()
	opts := duet.Options{AppKey: srv.AppKey, ServerURL: srv.URL, ICE: duet.ICEOptions{LoopbackOnly: true}}
	for _, m := range mod {
		m(&opts)
	}
	c, err := duet.NewClient(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	rec := newRecorder()
	c.AddConnectionDelegate(rec, nil)
	c.CallManager().AddDelegate(rec, nil)
	return c, rec
}

// TestCallbacksMayCallTheSDK: every public method may be called from every delegate
// callback, Close and Logout included; nothing deadlocks and no goroutine is left.
func TestCallbacksMayCallTheSDK(t *testing.T) {
	leaktest.Check(t)
	srv := servertest.Start(t)
	srv.AddUser("cb-alice", "pw-cb-alice") // once: registrations are throttled per address
	srv.AddUser("cb-bob", "pw-cb-bob")
	for _, on := range []string{"receive", "connect", "accept", "end", "state", "otherDevice"} {
		for _, action := range []string{"Close", "Logout", "EndCall", "StartCall"} {
			t.Run(on+"/"+action, func(t *testing.T) {
				alice, recA := cbClient(t, srv)
				login(t, alice, "cb-alice")
				device := fmt.Sprintf("bob-%s-%s", on, action)
				bob, recB := cbClient(t, srv, func(o *duet.Options) { o.DeviceID = device })
				h := newHook(on, callbackActions(bob)[action])
				bob.AddConnectionDelegate(h, nil)
				bob.CallManager().AddDelegate(h, nil)
				login(t, bob, "cb-bob")
				switch on {
				case "otherDevice":
					other, _ := cbClient(t, srv, func(o *duet.Options) { o.DeviceID = device })
					login(t, other, "cb-bob")
				case "state":
				default:
					s, err := alice.CallManager().StartCall(ctxT(t), duet.CallTypeVoice, "cb-bob", "")
					if err != nil {
						t.Fatal(err)
					}
					in := recB.wait(t, "receive").session
					if on == "accept" || on == "end" {
						_ = bob.CallManager().AnswerIncomingCall(ctxT(t), in.CallID())
					}
					if on == "end" {
						recA.wait(t, "accept")
						_ = alice.CallManager().EndCall(ctxT(t), s.CallID(), duet.EndReasonHangup)
					}
				}
				h.waitDone(t)
				alice.Close()
				bob.Close()
			})
		}
	}
}

// TestCallbacksMayCloseOnRefusal: Close and Logout from TokenDidExpire and UpgradeRequired.
func TestCallbacksMayCloseOnRefusal(t *testing.T) {
	leaktest.Check(t)
	for _, on := range []string{"tokenExpired", "upgradeRequired"} {
		for _, action := range []string{"Close", "Logout"} {
			t.Run(on+"/"+action, func(t *testing.T) {
				srv := newHubServer(t, signal.Config{})
				c, rec := newHubClient(t, srv.URL)
				h := newHook(on, callbackActions(c)[action])
				c.AddConnectionDelegate(h, nil)
				if err := c.LoginWithToken(ctxT(t), "alice", "tok"); err != nil {
					t.Fatal(err)
				}
				next := signal.Config{MinVersion: 2, MaxVersion: 2}
				var auth signal.Authenticator = aliceAuth{}
				if on == "tokenExpired" {
					next, auth = signal.Config{}, refuseAuth{}
				}
				old := srv.swapAuth(t, next, auth)
				_ = old.Shutdown(ctxT(t))
				rec.wait(t, on)
				h.waitDone(t)
			})
		}
	}
}
