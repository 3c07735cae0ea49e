package duet_test

import (
	"context"
	"testing"

	"github.com/duet-rtc/duet"
	"github.com/duet-rtc/duet/server/servertest"
	"github.com/duet-rtc/duet/server/store"
)

// proveLive has from pause its voice and waits until to hears of it: that goes through the
// server's live call, so it proves both devices are back in the same call there.
func proveLive(t *testing.T, s *duet.CallSession, to *recorder) {
	t.Helper()
	if err := s.PauseVoice(); err != nil {
		t.Fatal(err)
	}
	if e := to.wait(t, "stream"); e.stream != duet.StreamStatusVoicePause {
		t.Fatalf("stream %v", e.stream)
	}
}

// oneRecord returns the only call record of app, failing unless there is exactly one.
func oneRecord(t *testing.T, srv *servertest.Server) store.CallRecord {
	t.Helper()
	srv.FlushCallRecords()
	recs, _, err := srv.Store().ListCalls(context.Background(), srv.AppKey, store.CallFilter{})
	if err != nil || len(recs) != 1 {
		t.Fatalf("records %+v, %v; want one", recs, err)
	}
	return recs[0]
}

// TestAnsweredCallSurvivesServerRestart: a restart of the server (same data folder) keeps
// an answered call: both SDKs reconnect into the same call, which ends normally afterwards
// and is recorded once, accepted before the restart and ended after it.
func TestAnsweredCallSurvivesServerRestart(t *testing.T) {
	srv := servertest.Start(t)
	alice, recA := newClient(t, srv, "alice")
	bob, recB := newClient(t, srv, "bob")
	out, in := answeredCall(t, alice, recA, bob, recB, "bob")

	srv.Restart()
	for _, r := range []*recorder{recA, recB} {
		r.wait(t, "conn:disconnected")
		r.wait(t, "conn:connected")
	}
	proveLive(t, out, recB)
	if recA.has("end") || recB.has("end") {
		t.Fatalf("the call ended across the restart: %v / %v", recA.names(), recB.names())
	}
	if out.Status() != duet.CallStatusAccepted || in.Status() != duet.CallStatusAccepted || out.CallID() != in.CallID() {
		t.Fatalf("sessions %v %v", out.Status(), in.Status())
	}
	if err := alice.CallManager().EndCall(ctxT(t), out.CallID(), duet.EndReasonHangup); err != nil {
		t.Fatal(err)
	}
	if e := recB.wait(t, "end"); e.reason != duet.EndReasonHangup {
		t.Fatalf("bob's call ended %v", e.reason)
	}
	rec := oneRecord(t, srv)
	if rec.ID != out.CallID() || rec.EndReason != int(duet.EndReasonHangup) || rec.EndedBy != "alice" ||
		rec.AcceptedAt.IsZero() || !rec.EndedAt.After(rec.AcceptedAt) || rec.CalleeDevice == "" {
		t.Fatalf("record %+v", rec)
	}
}

// TestRingingCallSurvivesServerRestart: a call that rings across a restart rings again on
// the callee's device when it reconnects, and can be answered there.
func TestRingingCallSurvivesServerRestart(t *testing.T) {
	srv := servertest.Start(t)
	alice, recA := newClient(t, srv, "alice")
	bob, recB := newClient(t, srv, "bob")
	out, err := alice.CallManager().StartCall(ctxT(t), duet.CallTypeVoice, "bob", "")
	if err != nil {
		t.Fatal(err)
	}
	in := recB.wait(t, "receive").session
	srv.Restart()
	recB.wait(t, "conn:connected")
	recA.wait(t, "conn:connected")
	// The callee's device is rung again when it returns; the SDK keeps the same session.
	if err := bob.CallManager().AnswerIncomingCall(ctxT(t), in.CallID()); err != nil {
		t.Fatal(err)
	}
	recA.wait(t, "accept")
	recB.wait(t, "accept")
	if recA.has("end") || recB.has("end") || out.CallID() != in.CallID() {
		t.Fatalf("events %v / %v", recA.names(), recB.names())
	}
	if err := bob.CallManager().EndCall(ctxT(t), in.CallID(), duet.EndReasonHangup); err != nil {
		t.Fatal(err)
	}
	if e := recA.wait(t, "end"); e.reason != duet.EndReasonHangup {
		t.Fatalf("alice's call ended %v", e.reason)
	}
	if rec := oneRecord(t, srv); rec.AcceptedAt.IsZero() || rec.EndReason != int(duet.EndReasonHangup) {
		t.Fatalf("record %+v", rec)
	}
}

// TestHangUpWhileTheServerIsDown: a hang-up the server cannot hear is kept and sent once
// the device is back, so the call ends Hangup for the other side and in the record (not
// Failed when the grace runs out).
func TestHangUpWhileTheServerIsDown(t *testing.T) {
	srv := servertest.Start(t)
	alice, recA := newClient(t, srv, "alice")
	bob, recB := newClient(t, srv, "bob")
	out, _ := answeredCall(t, alice, recA, bob, recB, "bob")
	srv.RestartAfter(func() {
		recA.wait(t, "conn:disconnected")
		if err := alice.CallManager().EndCall(ctxT(t), out.CallID(), duet.EndReasonHangup); err != nil {
			t.Fatal(err)
		}
		if e := recA.wait(t, "end"); e.reason != duet.EndReasonHangup {
			t.Fatalf("alice's call ended %v", e.reason)
		}
	})
	if e := recB.wait(t, "end"); e.reason != duet.EndReasonHangup {
		t.Fatalf("bob's call ended %v", e.reason)
	}
	if rec := oneRecord(t, srv); rec.EndReason != int(duet.EndReasonHangup) || rec.EndedBy != "alice" {
		t.Fatalf("record %+v", rec)
	}
}
