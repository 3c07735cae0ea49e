package duet_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/duet-rtc/duet"
	"github.com/duet-rtc/duet/internal/clock"
	"github.com/duet-rtc/duet/server/servertest"
)

// event is one delegate callback, as recorded by recorder.
type event struct {
	name    string
	session *duet.CallSession
	reason  duet.EndReason
	stream  duet.StreamStatus
	at      time.Time
}

// recorder records every delegate callback in order.
type recorder struct {
	duet.CallManagerDelegateBase
	duet.ConnectionDelegateBase
	mu     sync.Mutex
	events []event
	ch     chan event
}

func newRecorder() *recorder { return &recorder{ch: make(chan event, 256)} }

func (r *recorder) add(e event) {
	e.at = time.Now()
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
	r.ch <- e
}

func (r *recorder) CallDidReceive(s *duet.CallSession) { r.add(event{name: "receive", session: s}) }
func (r *recorder) CallDidConnect(s *duet.CallSession) { r.add(event{name: "connect", session: s}) }
func (r *recorder) CallDidAccept(s *duet.CallSession)  { r.add(event{name: "accept", session: s}) }
func (r *recorder) CallDidEnd(s *duet.CallSession, reason duet.EndReason, err error) {
	r.add(event{name: "end", session: s, reason: reason})
}
func (r *recorder) CallStateDidChange(s *duet.CallSession, st duet.StreamStatus) {
	r.add(event{name: "stream", session: s, stream: st})
}
func (r *recorder) CallRemoteOffline(string) { r.add(event{name: "offline"}) }
func (r *recorder) ConnectionStateDidChange(st duet.ConnectionState) {
	r.add(event{name: "conn:" + st.String()})
}
func (r *recorder) UserAccountDidLoginFromOtherDevice() { r.add(event{name: "otherDevice"}) }
func (r *recorder) UserAccountDidRemoveFromServer()     { r.add(event{name: "removed"}) }
func (r *recorder) TokenDidExpire(duet.ErrorCode)       { r.add(event{name: "tokenExpired"}) }
func (r *recorder) UpgradeRequired()                    { r.add(event{name: "upgradeRequired"}) }

// wait returns the next event named name, skipping others, or fails the test.
func (r *recorder) wait(t testing.TB, name string) event {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		select {
		case e := <-r.ch:
			if e.name == name {
				return e
			}
		case <-deadline:
			t.Fatalf("no %q event within 20 s; got %v", name, r.names())
		}
	}
}

func (r *recorder) names() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, e := range r.events {
		out = append(out, e.name)
	}
	return out
}

// has reports whether an event named name was recorded.
func (r *recorder) has(name string) bool {
	for _, n := range r.names() {
		if n == name {
			return true
		}
	}
	return false
}

// newClient registers (if needed) and logs in username on srv with loopback-only ICE.
func newClient(t testing.TB, srv *servertest.Server, username string, mod ...func(*duet.Options)) (*duet.Client, *recorder) {
	t.Helper()
	return newClientAt(t, srv.AppKey, srv.URL, username, mod...)
}

// newClientAt is newClient for the app appKey of the server at serverURL (a server process,
// for instance).
func newClientAt(t testing.TB, appKey, serverURL, username string, mod ...func(*duet.Options)) (*duet.Client, *recorder) {
	t.Helper()
	c, rec := newLoggedOutClientAt(t, appKey, serverURL, username, mod...)
	login(t, c, username)
	return c, rec
}

// newLoggedOutClient registers (if needed) username on srv and returns a client for it,
// with a recorder on every delegate, not logged in yet (a test may set a clock first).
func newLoggedOutClient(t testing.TB, srv *servertest.Server, username string, mod ...func(*duet.Options)) (*duet.Client, *recorder) {
	t.Helper()
	return newLoggedOutClientAt(t, srv.AppKey, srv.URL, username, mod...)
}

// newLoggedOutClientAt is newLoggedOutClient for the app appKey of the server at serverURL.
func newLoggedOutClientAt(t testing.TB, appKey, serverURL, username string, mod ...func(*duet.Options)) (*duet.Client, *recorder) {
	t.Helper()
	opts := duet.Options{AppKey: appKey, ServerURL: serverURL, ICE: duet.ICEOptions{LoopbackOnly: true}}
	for _, m := range mod {
		m(&opts)
	}
	c, err := duet.NewClient(opts)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := c.Register(ctx, username, "pw-"+username); err != nil && duet.ErrorCodeOf(err) != duet.ErrorUserAlreadyExist {
		t.Fatalf("register %s: %v", username, err)
	}
	rec := newRecorder()
	c.AddConnectionDelegate(rec, nil)
	c.CallManager().AddDelegate(rec, nil)
	c.CallManager().SetBuilderDelegate(rec)
	return c, rec
}

// login logs c in as username (registered by newLoggedOutClient).
func login(t testing.TB, c *duet.Client, username string) {
	t.Helper()
	if err := c.Login(ctxT(t), username, "pw-"+username); err != nil {
		t.Fatalf("login %s: %v", username, err)
	}
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func newFakeClock() *clock.Fake { return clock.NewFake(time.Now()) }

// answeredCall has caller start a voice call to callee's user and callee answer it, and
// waits until both sides are accepted. It returns the caller's and the callee's sessions.
func answeredCall(t *testing.T, caller *duet.Client, recCaller *recorder, callee *duet.Client, recCallee *recorder, to string) (out, in *duet.CallSession) {
	t.Helper()
	return answeredCallOfType(t, duet.CallTypeVoice, caller, recCaller, callee, recCallee, to)
}

// answeredCallOfType is answeredCall for a call of type typ, started with opts.
func answeredCallOfType(t *testing.T, typ duet.CallType, caller *duet.Client, recCaller *recorder, callee *duet.Client, recCallee *recorder, to string, opts ...duet.StartCallOption) (out, in *duet.CallSession) {
	t.Helper()
	out, err := caller.CallManager().StartCall(ctxT(t), typ, to, "", opts...)
	if err != nil {
		t.Fatal(err)
	}
	in = recCallee.wait(t, "receive").session
	recCaller.wait(t, "connect")
	if err := callee.CallManager().AnswerIncomingCall(ctxT(t), in.CallID()); err != nil {
		t.Fatal(err)
	}
	recCaller.wait(t, "accept")
	recCallee.wait(t, "accept")
	return out, in
}
