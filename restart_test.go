package duet_test

import (
	"context"
	"fmt"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/duet-rtc/duet"
	"github.com/duet-rtc/duet/media"
	"github.com/duet-rtc/duet/server/api"
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

// expectResumed fails the test unless who's session s is still the live, accepted (or, with
// ringing, still ringing) session of call id on c, and c got no call callback since it had
// seen before of them.
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
	recs := p.waitCallRecord(t, id, 10*time.Second)
	time.Sleep(200 * time.Millisecond) // asserting an absence: no second record follows
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	all, err := p.callRecords(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if recs = recordsOf(all, id); len(recs) != 1 {
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
	checkGoroutines(t)
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
	// The media is peer to peer: it does not need the server.
	waitGrowth(t, "while the server is down", cs, 10, 1500*time.Millisecond, parties)
	p.start()
	if d := p.startedAt.Sub(stoppedAt); d > 2*time.Second {
		t.Fatalf("the restart began %v after the stop, want within 2 s", d)
	}
	t.Logf("%s: server down for %v (stop to healthy)", st.name, time.Since(stoppedAt).Round(time.Millisecond))
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
		checkGoroutines(t)
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
		checkGoroutines(t)
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
		checkGoroutines(t)
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
