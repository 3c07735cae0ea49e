package duet_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	mathrand "math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/duet-rtc/duet"
	"github.com/duet-rtc/duet/internal/leaktest"
	"github.com/duet-rtc/duet/media"
	"github.com/duet-rtc/duet/server/api"
	"github.com/duet-rtc/duet/server/webhook"
)

// These tests stop a real `duet server` process under live calls and start it again on the
// same data (and store), with real SDK clients on loopback. What they hold the server to
// (PROTOCOL.md, rules 11, 12 and 14, and durable call state): a call in progress survives the
// restart with the same call id and no callback on either side; every party gets the
// reconnect grace from the moment the server started; a party that does not come back ends
// the call Failed after it; a ringing call rings again, or ends NoResponse if its deadline
// passed meanwhile; and every call is recorded exactly once.

// device sets a client's device id, so that the server sees the same device come back.
func device(id string) func(*duet.Options) { return func(o *duet.Options) { o.DeviceID = id } }

// countingMedia gives a client looping file sources and counting sinks (no files written).
func countingMedia(c *duet.Client) *mediaPair {
	mp := &mediaPair{audio: media.NewFrameCounter(media.CodecOpus, nil), video: media.NewFrameCounter(media.CodecVP8, nil)}
	c.CallManager().SetMediaOptions(duet.MediaOptions{
		AudioSource: func(*duet.CallSession) (media.Source, error) { return media.OpenOgg(testOgg) },
		VideoSource: func(*duet.CallSession) (media.Source, error) { return media.OpenIVF(testIVF) },
		RemoteSinks: func(*duet.CallSession) (media.Sink, media.Sink) { return mp.audio, mp.video },
	})
	return mp
}

// counters names the remote-media counters of two clients.
func counters(alice, bob *mediaPair) map[string]*media.FrameCounter {
	return map[string]*media.FrameCounter{
		"audio at alice": alice.audio, "video at alice": alice.video,
		"audio at bob": bob.audio, "video at bob": bob.video,
	}
}

// waitGrowth waits until every counter has counted at least n more frames than when it was
// called, and fails the test if that takes longer than within, naming the streams that
// stalled. A call that ended stalls every stream: if one of parties' calls ended meanwhile,
// the test fails at once and says so, which is the more useful message.
func waitGrowth(t *testing.T, when string, cs map[string]*media.FrameCounter, n int, within time.Duration, parties map[string]*recorder) {
	t.Helper()
	start := map[string]int{}
	for name, c := range cs {
		start[name] = c.Stats().Frames
	}
	deadline := time.Now().Add(within)
	for {
		for who, rec := range parties {
			if ends := rec.ends(); len(ends) > 0 {
				t.Fatalf("%s: %s's call ended, reason %v (callbacks %v)", when, who, ends, rec.names())
			}
		}
		var stalled []string
		for name, c := range cs {
			if got := c.Stats().Frames; got < start[name]+n {
				stalled = append(stalled, fmt.Sprintf("%s (%d of %d more frames)", name, got-start[name], n))
			}
		}
		if len(stalled) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: media stalled for %v: %v", when, within, stalled)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ends returns the reasons of every CallDidEnd r recorded, in order.
func (r *recorder) ends() []duet.EndReason {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []duet.EndReason
	for _, e := range r.events {
		if e.name == "end" {
			out = append(out, e.reason)
		}
	}
	return out
}

// callEvents counts r's call callbacks (receive, connect, accept, end, stream): connection
// state changes are expected across a restart, these are not.
func (r *recorder) callEvents() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, e := range r.events {
		switch e.name {
		case "receive", "connect", "accept", "end", "stream":
			n++
		}
	}
	return n
}

// expectResumed fails the test unless who's session s is still c's live session of call id,
// in status want (Accepted for an answered call, Connected for a pre-connected ringing one),
// and rec counts no call callback beyond the before it counted ahead of the restart.
func expectResumed(t *testing.T, who string, c *duet.Client, rec *recorder, s *duet.CallSession, id string, before int, want duet.CallStatus) {
	t.Helper()
	if ends := rec.ends(); len(ends) > 0 {
		t.Fatalf("%s's call %s ended after the restart, reason %v (callbacks %v); want it resumed", who, id, ends, rec.names())
	}
	if got := c.CallManager().Session(id); got != s {
		t.Fatalf("%s: the call manager's session of %s is %p, want the original %p", who, id, got, s)
	}
	if s.CallID() != id || s.Status() != want {
		t.Fatalf("%s's session: call id %s status %v, want %s and %v", who, s.CallID(), s.Status(), id, want)
	}
	if n := rec.callEvents(); n != before {
		t.Fatalf("%s got %d call callbacks across the restart (%v); want none", who, n-before, rec.names())
	}
}

// restartFlags are the server flags of the restart tests: timers short enough for a fast
// test, long enough that nothing ends by accident while a test looks.
func restartFlags(ring, grace time.Duration) []string {
	return []string{"--ring-timeout", ring.String(), "--reconnect-grace", grace.String()}
}

// onlyRecord returns the one call record of id, failing the test if there is not exactly one.
func onlyRecord(t *testing.T, p *serverProcess, id string) api.Call {
	t.Helper()
	p.waitCallRecord(t, id, 10*time.Second)
	time.Sleep(200 * time.Millisecond) // asserting an absence: no second record follows
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	all, err := p.callRecords(ctx)
	if err != nil {
		t.Fatal(err)
	}
	recs := recordsOf(all, id)
	if len(recs) != 1 {
		t.Fatalf("call %s has %d records, want exactly 1: %+v", id, len(recs), recs)
	}
	return recs[0]
}

func ms(t time.Time) int64 { return t.UnixMilli() }

// TestCallSurvivesServerKill: an answered video call goes on while the server is SIGKILLed
// and started again on the same data within 2 s: media flows peer to peer throughout, both
// devices reconnect and resume the call (same id, still accepted, no callback), a hang-up
// after the restart ends it Hangup on both sides, and it has one record, accepted before the
// kill and ended after the restart.
func TestCallSurvivesServerKill(t *testing.T) {
	forEachStore(t, func(t *testing.T, st serverStore) { callSurvivesRestart(t, st, syscall.SIGKILL) })
}

// TestCallSurvivesServerTerm is TestCallSurvivesServerKill with a graceful stop: SIGTERM
// (the server says goodbye to every device and must exit with status 0).
func TestCallSurvivesServerTerm(t *testing.T) {
	forEachStore(t, func(t *testing.T, st serverStore) { callSurvivesRestart(t, st, syscall.SIGTERM) })
}

func callSurvivesRestart(t *testing.T, st serverStore, sig syscall.Signal) {
	leaktest.Check(t)
	p := newServerProcess(t, st, restartFlags(20*time.Second, 10*time.Second)...)
	p.start()
	alice, recA := newClientAt(t, processAppKey, p.url(), "alice", device("alice-phone"))
	bob, recB := newClientAt(t, processAppKey, p.url(), "bob", device("bob-phone"))
	cs := counters(countingMedia(alice), countingMedia(bob))
	out, in := answeredCallOfType(t, duet.CallTypeVideo, alice, recA, bob, recB, "bob")
	id := out.CallID()
	parties := map[string]*recorder{"alice": recA, "bob": recB}
	waitGrowth(t, "before the stop", cs, 20, 10*time.Second, parties)
	beforeA, beforeB := recA.callEvents(), recB.callEvents()

	stoppedAt := time.Now()
	if sig == syscall.SIGKILL {
		p.kill()
	} else if err := p.stop(sig); err != nil {
		t.Fatalf("server after SIGTERM: %v, want exit status 0", err)
	}
	downAt := time.Now() // the process has exited
	// The media is peer to peer: it does not need the server.
	waitGrowth(t, "while the server is down", cs, 10, 1500*time.Millisecond, parties)
	p.start()
	if d := p.startedAt.Sub(downAt); d > 2*time.Second {
		t.Fatalf("the restart began %v after the server exited, want within 2 s", d)
	}
	t.Logf("%s: server stopped in %v, down for %v (exit to healthy)", st.name,
		downAt.Sub(stoppedAt).Round(time.Millisecond), time.Since(downAt).Round(time.Millisecond))
	waitConnected(t, alice)
	waitConnected(t, bob)
	// Both devices said hello with the call id; the server resumed the call (or ended it,
	// which is what this looks for). 20 more frames on every stream take at least 0.7 s,
	// ample time for a call.ended to arrive.
	waitGrowth(t, "after the restart", cs, 20, 10*time.Second, parties)
	expectResumed(t, "alice", alice, recA, out, id, beforeA, duet.CallStatusAccepted)
	expectResumed(t, "bob", bob, recB, in, id, beforeB, duet.CallStatusAccepted)

	if err := alice.CallManager().EndCall(ctxT(t), id, duet.EndReasonHangup); err != nil {
		t.Fatal(err)
	}
	if e := recB.wait(t, "end"); e.reason != duet.EndReasonHangup || e.session != in {
		t.Fatalf("bob's end reason %v, want Hangup (0)", e.reason)
	}
	if e := recA.wait(t, "end"); e.reason != duet.EndReasonHangup || e.session != out {
		t.Fatalf("alice's end reason %v, want Hangup (0)", e.reason)
	}
	rec := onlyRecord(t, p, id)
	if rec.Caller != "alice" || rec.Callee != "bob" || rec.Type != int(duet.CallTypeVideo) ||
		rec.EndReason != int(duet.EndReasonHangup) || rec.EndedBy != "alice" || rec.CalleeDevice != "bob-phone" {
		t.Fatalf("call record %+v", rec)
	}
	if rec.AcceptedAt == 0 || rec.AcceptedAt > ms(stoppedAt) {
		t.Fatalf("record accepted at %d, want before the stop at %d", rec.AcceptedAt, ms(stoppedAt))
	}
	if rec.EndedAt < ms(p.startedAt) {
		t.Fatalf("record ended at %d, want after the restart at %d", rec.EndedAt, ms(p.startedAt))
	}
}

// TestRingingCallSurvivesRestart: a video call is ringing (pre-connected, not answered) when
// the server is killed. After the restart the callee's device is rung again for the same
// call (the SDK pre-connects afresh, with no new callback), the callee answers, media flows,
// and the call has one record, accepted after the restart.
func TestRingingCallSurvivesRestart(t *testing.T) {
	forEachStore(t, func(t *testing.T, st serverStore) {
		leaktest.Check(t)
		p := newServerProcess(t, st, restartFlags(20*time.Second, 10*time.Second)...)
		p.start()
		alice, recA := newClientAt(t, processAppKey, p.url(), "alice", device("alice-phone"))
		bob, recB := newClientAt(t, processAppKey, p.url(), "bob", device("bob-phone"))
		cs := counters(countingMedia(alice), countingMedia(bob))
		out, err := alice.CallManager().StartCall(ctxT(t), duet.CallTypeVideo, "bob", "ringing")
		if err != nil {
			t.Fatal(err)
		}
		id := out.CallID()
		in := recB.wait(t, "receive").session
		recA.wait(t, "connect")
		recB.wait(t, "connect")
		beforeA, beforeB := recA.callEvents(), recB.callEvents()

		killedAt := time.Now()
		p.kill()
		p.start()
		waitConnected(t, alice)
		waitConnected(t, bob)
		// Both devices resumed; the server rings bob's device again and alice's SDK offers to
		// it afresh. An end would come at once: a short look is enough before answering.
		time.Sleep(500 * time.Millisecond) // asserting an absence: no call.ended after the hello
		expectResumed(t, "alice", alice, recA, out, id, beforeA, duet.CallStatusConnected)
		expectResumed(t, "bob", bob, recB, in, id, beforeB, duet.CallStatusConnected)

		if err := bob.CallManager().AnswerIncomingCall(ctxT(t), id); err != nil {
			t.Fatalf("answer after the restart: %v (bob's callbacks %v)", err, recB.names())
		}
		if e := recA.wait(t, "accept"); e.session != out {
			t.Fatal("alice's accept is for another session")
		}
		recB.wait(t, "accept")
		waitGrowth(t, "after the answer", cs, 20, 15*time.Second, map[string]*recorder{"alice": recA, "bob": recB})
		if err := bob.CallManager().EndCall(ctxT(t), id, duet.EndReasonHangup); err != nil {
			t.Fatal(err)
		}
		if e := recA.wait(t, "end"); e.reason != duet.EndReasonHangup {
			t.Fatalf("alice's end reason %v, want Hangup (0)", e.reason)
		}
		rec := onlyRecord(t, p, id)
		if rec.EndReason != int(duet.EndReasonHangup) || rec.EndedBy != "bob" || rec.Ext != "ringing" || rec.CalleeDevice != "bob-phone" {
			t.Fatalf("call record %+v", rec)
		}
		if rec.InvitedAt == 0 || rec.InvitedAt > ms(killedAt) || rec.AcceptedAt < ms(p.startedAt) {
			t.Fatalf("record invited at %d, accepted at %d; want invited before the kill (%d) and accepted after the restart (%d)",
				rec.InvitedAt, rec.AcceptedAt, ms(killedAt), ms(p.startedAt))
		}
	})
}

// TestRingDeadlinePassesWhileDown: a call is ringing when the server is killed, and its ring
// deadline passes while the server is down. On start the server fires the timer at once: both
// sides get CallDidEnd NoResponse (1), and the call has one record with that reason.
func TestRingDeadlinePassesWhileDown(t *testing.T) {
	forEachStore(t, func(t *testing.T, st serverStore) {
		leaktest.Check(t)
		const ring = 2 * time.Second
		p := newServerProcess(t, st, restartFlags(ring, 10*time.Second)...)
		p.start()
		alice, recA := newClientAt(t, processAppKey, p.url(), "alice", device("alice-phone"))
		_, recB := newClientAt(t, processAppKey, p.url(), "bob", device("bob-phone"))
		out, err := alice.CallManager().StartCall(ctxT(t), duet.CallTypeVoice, "bob", "")
		if err != nil {
			t.Fatal(err)
		}
		invited := time.Now()
		recB.wait(t, "receive")
		p.kill()
		time.Sleep(time.Until(invited.Add(ring + 500*time.Millisecond))) // down until the deadline has passed
		p.start()
		if e := recA.wait(t, "end"); e.reason != duet.EndReasonNoResponse || e.session != out {
			t.Fatalf("alice's end reason %v, want NoResponse (1)", e.reason)
		}
		if e := recB.wait(t, "end"); e.reason != duet.EndReasonNoResponse {
			t.Fatalf("bob's end reason %v, want NoResponse (1)", e.reason)
		}
		rec := onlyRecord(t, p, out.CallID())
		if rec.EndReason != int(duet.EndReasonNoResponse) || rec.EndedBy != "" || rec.AcceptedAt != 0 {
			t.Fatalf("call record %+v, want NoResponse, ended by the server, never accepted", rec)
		}
	})
}

// TestPartyNeverReturns: an answered call; the server is killed; bob's client is closed
// while it is down, so his device never comes back (and cannot tell the server). alice's
// device reconnects and resumes; when bob's reconnect grace, counted from the server's
// start, runs out, the server ends the call Failed (4) for alice, and records it once, as
// ended by the server.
func TestPartyNeverReturns(t *testing.T) {
	forEachStore(t, func(t *testing.T, st serverStore) {
		leaktest.Check(t)
		const grace = 3 * time.Second
		p := newServerProcess(t, st, restartFlags(20*time.Second, grace)...)
		p.start()
		alice, recA := newClientAt(t, processAppKey, p.url(), "alice", device("alice-phone"))
		// alice's SDK gives a peer that closed its connection 5 s before failing the call
		// itself (TestRemoteCloseWaitsForServer); on a clock that never moves, only the
		// server can end it, which is what this test is about.
		duet.SetTestClock(alice, newFakeClock())
		bob, recB := newClientAt(t, processAppKey, p.url(), "bob", device("bob-phone"))
		out, _ := answeredCall(t, alice, recA, bob, recB, "bob")
		id := out.CallID()

		p.kill()
		bob.Close()
		p.start()
		waitConnected(t, alice)
		e := recA.wait(t, "end")
		if e.reason != duet.EndReasonFailed || e.session != out {
			t.Fatalf("alice's end reason %v, want Failed (4)", e.reason)
		}
		if after := e.at.Sub(p.startedAt); after < grace {
			t.Fatalf("alice's call ended %v after the server started, before bob's %v reconnect grace ran out", after.Round(time.Millisecond), grace)
		}
		rec := onlyRecord(t, p, id)
		if rec.EndReason != int(duet.EndReasonFailed) || rec.EndedBy != "" || rec.AcceptedAt == 0 {
			t.Fatalf("call record %+v, want Failed, ended by the server, accepted", rec)
		}
		if rec.EndedAt < ms(p.startedAt.Add(grace)) {
			t.Fatalf("record ended at %d, before the grace ran out at %d", rec.EndedAt, ms(p.startedAt.Add(grace)))
		}
	})
}

// envInt reads a positive int from the environment, or def.
func envInt(name string, def int) int {
	var n int
	if _, err := fmt.Sscan(os.Getenv(name), &n); err == nil && n > 0 {
		return n
	}
	return def
}

// hookLog is a webhook endpoint on loopback that records every call event it is sent, in
// arrival order, after checking the signature; it always answers 200.
type hookLog struct {
	secret string
	mu     sync.Mutex
	byCall map[string][]webhook.Payload // arrival order, repeats included
	total  int
	bad    []string // requests that were not a signed call event
}

func newHookLog(t *testing.T, secret string) (*hookLog, *httptest.Server) {
	h := &hookLog{secret: secret, byCall: map[string][]webhook.Payload{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		var p webhook.Payload
		if err == nil {
			err = json.Unmarshal(body, &p)
		}
		h.mu.Lock()
		defer h.mu.Unlock()
		switch {
		case err != nil:
			h.bad = append(h.bad, err.Error())
		case webhook.Verify(h.secret, body, r.Header.Get(webhook.SignatureHeader), time.Now(), webhook.DefaultTolerance) != nil:
			h.bad = append(h.bad, "bad signature on "+p.ID)
		default:
			h.byCall[p.CallID] = append(h.byCall[p.CallID], p)
			h.total++
		}
	}))
	t.Cleanup(srv.Close)
	return h, srv
}

// ended returns the call.ended event of call id, if it arrived.
func (h *hookLog) ended(id string) (webhook.Payload, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, p := range h.byCall[id] {
		if p.Type == "call.ended" {
			return p, true
		}
	}
	return webhook.Payload{}, false
}

// check verifies call id's events: every one arrived (seq 1..k, with call.invited first and
// call.ended, seq k, last) and, counting each event at its first arrival, in order. Repeats
// (the same event id again, at least once delivery) are allowed.
func (h *hookLog) check(id string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	seen := map[string]bool{}
	var order []webhook.Payload
	for _, p := range h.byCall[id] {
		if !seen[p.ID] {
			seen[p.ID] = true
			order = append(order, p)
		}
	}
	var types []string
	for _, p := range order {
		types = append(types, fmt.Sprintf("%d:%s", p.Seq, p.Type))
	}
	for i, p := range order {
		if p.Seq != i+1 {
			return fmt.Errorf("events %v: want seq 1, 2, ... each once, in order", types)
		}
	}
	if len(order) < 2 || order[0].Type != "call.invited" || order[len(order)-1].Type != "call.ended" {
		return fmt.Errorf("events %v: want call.invited first and call.ended last", types)
	}
	return nil
}

// msgLog records the text messages a client receives: how often each id arrived.
type msgLog struct {
	mu    sync.Mutex
	count map[string]int // "from/id" -> deliveries
	total int
}

func (l *msgLog) MessagesDidReceive(ms []duet.Message) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, m := range ms {
		l.count[m.From+"/"+m.ID]++
		l.total++
	}
}

func (l *msgLog) deliveries(key string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.count[key]
}

// endLog records how each call ended on a device (CallDidEnd's reason), for the report.
type endLog struct {
	duet.CallManagerDelegateBase
	mu      sync.Mutex
	reasons map[string]duet.EndReason
}

func (l *endLog) CallDidEnd(s *duet.CallSession, reason duet.EndReason, _ error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.reasons[s.CallID()] = reason
}

func (l *endLog) of(id string) duet.EndReason {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.reasons[id]
}

// answerer is a callee's delegate in the crash loop: it answers every call that rings, and
// hangs up any call of its own that is still live a few seconds later, so that every call
// ends even when the caller lost track of it (an invite whose reply died with the server
// leaves the server a call that the caller's SDK never heard of).
type answerer struct {
	duet.CallManagerDelegateBase
	c    *duet.Client
	stop <-chan struct{}
	wg   *sync.WaitGroup
}

func (a *answerer) CallDidReceive(s *duet.CallSession) {
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		id := s.CallID()
		backstop := time.Now().Add(3 * time.Second)
		for a.c.CallManager().Session(id) == s && s.Status() != duet.CallStatusAccepted && time.Now().Before(backstop) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			err := a.c.CallManager().AnswerIncomingCall(ctx, id)
			cancel()
			if err == nil || duet.ErrorCodeOf(err) == duet.ErrorCallInvalidID {
				break // answered, or the server has moved on (it will say how the call ended)
			}
			time.Sleep(100 * time.Millisecond) // not connected: answer again after the reconnect
		}
		select {
		case <-time.After(time.Until(backstop)):
		case <-a.stop:
		}
		endAcknowledged(a.c, id, a.stop)
	}()
}

// endAcknowledged ends call id on c and repeats the end until the server acknowledged it:
// EndCall ends the session locally even when the request does not reach the server, and a
// call the server still has live would otherwise stay live. A server that does not know the
// call (800) has no live call to end. It gives up 30 s after stop is closed.
func endAcknowledged(c *duet.Client, id string, stop <-chan struct{}) {
	var giveUp <-chan time.Time
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		err := c.CallManager().EndCall(ctx, id, duet.EndReasonHangup)
		cancel()
		// The first EndCall on a live session returns nil whatever the network did; only
		// once the session is gone does EndCall report the request's own outcome.
		if c.CallManager().Session(id) == nil && (err == nil || duet.ErrorCodeOf(err) == duet.ErrorCallInvalidID) {
			return
		}
		if giveUp == nil {
			select {
			case <-stop:
				giveUp = time.After(30 * time.Second)
			default:
			}
		}
		select {
		case <-giveUp:
			return
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// TestCallsSurviveCrashLoop kills the server (SIGKILL) at random moments, N times
// (DUET_CRASHLOOP, default 5; the seed is logged and DUET_CRASHLOOP_SEED repeats a run),
// while two pairs of clients make calls (invite, answer, hang up) and send text messages.
// In the end: every call whose invite was acknowledged (the SDK got a call id) has exactly
// one record and has ended on both devices; every acknowledged message reached its recipient
// exactly once; and every event of every recorded call reached the app's webhook, at least
// once and in order.
func TestCallsSurviveCrashLoop(t *testing.T) {
	forEachStore(t, crashLoop)
}

func crashLoop(t *testing.T, st serverStore) {
	leaktest.Check(t)
	kills := envInt("DUET_CRASHLOOP", 5)
	seed := int64(envInt("DUET_CRASHLOOP_SEED", int(time.Now().UnixNano()%1e9)))
	t.Logf("%s: %d kills, seed %d (DUET_CRASHLOOP_SEED=%d repeats the schedule)", st.name, kills, seed, seed)
	rng := mathrand.New(mathrand.NewPCG(uint64(seed), 0))

	const secret = "crash-loop-webhook-secret"
	hooks, hookSrv := newHookLog(t, secret)
	p := newServerProcess(t, st, append(restartFlags(4*time.Second, 6*time.Second),
		"--webhook-min-backoff", "100ms", "--webhook-max-backoff", "1s")...)
	p.start()
	if _, err := p.admin().SetWebhook(ctxT(t), processAppKey, hookSrv.URL, secret); err != nil {
		t.Fatal(err)
	}

	stop := make(chan struct{})
	ends := &endLog{reasons: map[string]duet.EndReason{}}
	var workers, answers sync.WaitGroup
	var mu sync.Mutex
	var acked []string                      // call ids the callers got
	parties := map[string][2]*duet.Client{} // call id -> caller, callee
	var sent []string                       // "from/id" of acknowledged messages
	inboxes := map[string]*msgLog{}

	for i := range 2 {
		callerName, calleeName := fmt.Sprintf("caller%d", i), fmt.Sprintf("callee%d", i)
		caller, recCaller := newClientAt(t, processAppKey, p.url(), callerName, device(callerName+"-dev"))
		callee, recCallee := newClientAt(t, processAppKey, p.url(), calleeName, device(calleeName+"-dev"))
		// Nobody reads these recorders here, and a full one would block the delegates' queue.
		for _, x := range []struct {
			c   *duet.Client
			rec *recorder
		}{{caller, recCaller}, {callee, recCallee}} {
			x.c.CallManager().RemoveDelegate(x.rec)
			x.c.RemoveConnectionDelegate(x.rec)
		}
		caller.CallManager().AddDelegate(ends, nil)
		box := &msgLog{count: map[string]int{}}
		inboxes[calleeName] = box
		callee.ChatManager().AddDelegate(box, nil)
		callee.CallManager().AddDelegate(&answerer{c: callee, stop: stop, wg: &answers}, nil)
		hold := time.Duration(200+rng.IntN(600)) * time.Millisecond

		workers.Add(2)
		go func() { // calls: invite, wait for the answer, hold, hang up; again
			defer workers.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				s, err := caller.CallManager().StartCall(ctx, duet.CallTypeVoice, calleeName, "")
				cancel()
				if err != nil {
					// Not connected, or busy with a call whose invite reply was lost (the
					// callee's answerer ends it): try again shortly.
					time.Sleep(200 * time.Millisecond)
					continue
				}
				id := s.CallID()
				mu.Lock()
				acked = append(acked, id)
				parties[id] = [2]*duet.Client{caller, callee}
				mu.Unlock()
				deadline := time.Now().Add(8 * time.Second)
				for caller.CallManager().Session(id) != nil && s.Status() != duet.CallStatusAccepted && time.Now().Before(deadline) {
					time.Sleep(20 * time.Millisecond)
				}
				time.Sleep(hold)
				endAcknowledged(caller, id, stop)
			}
		}()
		go func() { // text messages from the caller to the callee, all along
			defer workers.Done()
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				m, err := caller.ChatManager().SendMessage(ctx, calleeName, fmt.Sprint(n), nil)
				cancel()
				if err == nil {
					mu.Lock()
					sent = append(sent, calleeName+"<"+callerName+"/"+m.ID)
					mu.Unlock()
				}
				time.Sleep(60 * time.Millisecond) // within the server's per-device rate limit
			}
		}()
	}

	for i := range kills {
		time.Sleep(time.Duration(300+rng.IntN(1500)) * time.Millisecond)
		p.kill()
		time.Sleep(time.Duration(rng.IntN(400)) * time.Millisecond)
		p.start()
		t.Logf("kill %d/%d done", i+1, kills)
	}
	time.Sleep(time.Second) // some calls and messages after the last restart
	close(stop)
	workers.Wait()
	answers.Wait()

	// Calls: every acknowledged call has exactly one record. First both devices must be done
	// with it (the workers end every session and repeat the end until the server
	// acknowledged it, so after that no live call is left to wait for); calls the devices
	// never heard of end within the ring timeout or the reconnect grace after the last
	// restart, and the deadline leaves room for both.
	mu.Lock()
	calls := append([]string(nil), acked...)
	mu.Unlock()
	deadline := time.Now().Add(20 * time.Second)
	for _, id := range calls {
		for _, c := range parties[id] {
			for c.CallManager().Session(id) != nil && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			if c.CallManager().Session(id) != nil {
				t.Errorf("call %s is still live on %s's device", id, c.CurrentUsername())
			}
		}
	}
	var all []api.Call
	for {
		var err error
		all, err = p.callRecords(ctxT(t))
		if err != nil {
			t.Fatal(err)
		}
		missing := 0
		for _, id := range calls {
			if len(recordsOf(all, id)) == 0 {
				missing++
			}
		}
		if missing == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	reasons := map[int]int{}
	unrecorded := map[duet.EndReason]int{}
	for _, id := range calls {
		recs := recordsOf(all, id)
		if len(recs) != 1 {
			seen := ends.of(id)
			unrecorded[seen]++
			t.Errorf("acknowledged call %s has %d records, want exactly 1 (its caller saw it end %v)", id, len(recs), seen)
			continue
		}
		reasons[recs[0].EndReason]++
	}

	// Messages: every acknowledged one arrived exactly once; nothing arrived twice.
	mu.Lock()
	msgs := append([]string(nil), sent...)
	mu.Unlock()
	for _, key := range msgs {
		to, id, _ := strings.Cut(key, "<")
		box := inboxes[to]
		for box.deliveries(id) == 0 && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if n := box.deliveries(id); n != 1 {
			t.Errorf("acknowledged message %s to %s was delivered %d times, want 1", id, to, n)
		}
	}
	delivered := 0
	for to, box := range inboxes {
		box.mu.Lock()
		for id, n := range box.count {
			if n != 1 {
				t.Errorf("message %s to %s delivered %d times", id, to, n)
			}
		}
		delivered += box.total
		box.mu.Unlock()
	}

	// Webhooks: every recorded call's events arrived, in order.
	events := 0
	for _, rec := range all {
		for {
			if _, ok := hooks.ended(rec.ID); ok || time.Now().After(deadline) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if err := hooks.check(rec.ID); err != nil {
			t.Errorf("webhook of call %s (record ended %d by %q): %v", rec.ID, rec.EndReason, rec.EndedBy, err)
		}
	}
	hooks.mu.Lock()
	for _, ps := range hooks.byCall {
		seen := map[string]bool{}
		for _, p := range ps {
			if !seen[p.ID] {
				seen[p.ID] = true
				events++
			}
		}
	}
	if len(hooks.bad) > 0 {
		t.Errorf("webhook requests that were not signed call events: %v", hooks.bad)
	}
	t.Logf("%s: %d kills; %d calls acknowledged, %d records in all (recorded end reasons of the acknowledged: %v; without a record, by the reason their caller saw: %v); %d messages acknowledged, %d delivered; %d webhook events (%d posts with repeats) for %d calls",
		st.name, kills, len(calls), len(all), reasons, unrecorded, len(msgs), delivered, events, hooks.total, len(hooks.byCall))
	hooks.mu.Unlock()
}
