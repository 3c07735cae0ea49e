package duet_test

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/duet-rtc/duet"
	"github.com/duet-rtc/duet/internal/clock"
	"github.com/duet-rtc/duet/media"
	"github.com/duet-rtc/duet/server/servertest"
	"github.com/duet-rtc/duet/server/store"
)

const (
	testIVF = "testdata/media/pattern-320x240.ivf"
	testOgg = "testdata/media/tone-440.ogg"
)

// mediaPair gives a client file sources and counting sinks that also write files.
type mediaPair struct {
	audio, video *media.FrameCounter
}

func withMedia(t *testing.T, c *duet.Client, dir, name string) *mediaPair {
	mp := &mediaPair{}
	c.CallManager().SetMediaOptions(duet.MediaOptions{
		AudioSource: func(*duet.CallSession) (media.Source, error) { return media.OpenOgg(testOgg) },
		VideoSource: func(*duet.CallSession) (media.Source, error) { return media.OpenIVF(testIVF) },
		RemoteSinks: func(*duet.CallSession) (media.Sink, media.Sink) {
			return mp.audio, mp.video
		},
	})
	ogg, err := media.CreateOgg(filepath.Join(dir, name+".ogg"))
	if err != nil {
		t.Fatal(err)
	}
	ivf, err := media.CreateIVF(filepath.Join(dir, name+".ivf"))
	if err != nil {
		t.Fatal(err)
	}
	mp.audio = media.NewFrameCounter("opus", ogg)
	mp.video = media.NewFrameCounter("vp8", ivf)
	return mp
}

// TestVideoCall is the spine: a real call between two SDK clients over loopback, with
// pre-connect, media only after accept, both directions, and a hang-up.
func TestVideoCall(t *testing.T) {
	srv := servertest.Start(t)
	dir := t.TempDir()
	alice, recA := newClient(t, srv, "alice")
	bob, recB := newClient(t, srv, "bob")
	mediaA := withMedia(t, alice, dir, "at-alice")
	mediaB := withMedia(t, bob, dir, "at-bob")

	s, err := alice.CallManager().StartCall(ctxT(t), duet.CallTypeVideo, "bob", "hello ext")
	if err != nil {
		t.Fatalf("StartCall: %v", err)
	}
	if !s.IsCaller() || s.RemoteName() != "bob" || s.Status() != duet.CallStatusConnecting {
		t.Fatalf("caller session: isCaller=%v remote=%s status=%v", s.IsCaller(), s.RemoteName(), s.Status())
	}
	in := recB.wait(t, "receive").session
	if in.CallID() != s.CallID() || in.Ext() != "hello ext" || in.RemoteName() != "alice" || in.Type() != duet.CallTypeVideo {
		t.Fatalf("callee session: id=%s ext=%q remote=%s", in.CallID(), in.Ext(), in.RemoteName())
	}
	// Pre-connect: both sides connect while ringing, and no media flows.
	recA.wait(t, "connect")
	recB.wait(t, "connect")
	if s.Status() != duet.CallStatusConnected || s.ConnectType() != duet.ConnectTypeDirect {
		t.Fatalf("caller after connect: status=%v connectType=%v", s.Status(), s.ConnectType())
	}
	time.Sleep(300 * time.Millisecond) // asserting an absence: nothing may arrive while ringing
	for name, c := range map[string]*media.FrameCounter{"alice audio": mediaA.audio, "alice video": mediaA.video, "bob audio": mediaB.audio, "bob video": mediaB.video} {
		if st := c.Stats(); st.Packets != 0 {
			t.Fatalf("%s received %d packets before accept", name, st.Packets)
		}
	}
	if err := bob.CallManager().AnswerIncomingCall(ctxT(t), in.CallID()); err != nil {
		t.Fatalf("answer: %v", err)
	}
	recA.wait(t, "accept")
	recB.wait(t, "accept")
	for name, c := range map[string]*media.FrameCounter{"alice audio": mediaA.audio, "alice video": mediaA.video, "bob audio": mediaB.audio, "bob video": mediaB.video} {
		if _, err := c.Wait(ctxT(t), func(st media.CounterStats) bool { return st.Frames >= 20 }); err != nil {
			t.Fatalf("%s: %v (stats %+v)", name, err, c.Stats())
		}
	}
	// Pause video: the caller's callback fires and bob's video stops arriving at alice.
	if err := bob.CallManager().Session(in.CallID()).PauseVideo(); err != nil {
		t.Fatal(err)
	}
	if e := recA.wait(t, "stream"); e.stream != duet.StreamStatusVideoPause {
		t.Fatalf("stream status %v, want video pause", e.stream)
	}
	time.Sleep(200 * time.Millisecond) // let packets in flight land
	paused := mediaA.video.Stats().Packets
	time.Sleep(300 * time.Millisecond)
	if now := mediaA.video.Stats().Packets; now != paused {
		t.Fatalf("video kept flowing while paused: %d -> %d packets", paused, now)
	}
	if err := bob.CallManager().Session(in.CallID()).ResumeVideo(); err != nil {
		t.Fatal(err)
	}
	if e := recA.wait(t, "stream"); e.stream != duet.StreamStatusVideoResume {
		t.Fatalf("stream status %v, want video resume", e.stream)
	}
	if _, err := mediaA.video.Wait(ctxT(t), func(st media.CounterStats) bool { return st.Packets > paused+10 }); err != nil {
		t.Fatalf("video did not resume: %v", err)
	}

	if err := alice.CallManager().EndCall(ctxT(t), s.CallID(), duet.EndReasonHangup); err != nil {
		t.Fatalf("end: %v", err)
	}
	if e := recB.wait(t, "end"); e.reason != duet.EndReasonHangup {
		t.Fatalf("bob's end reason %v", e.reason)
	}
	if e := recA.wait(t, "end"); e.reason != duet.EndReasonHangup {
		t.Fatalf("alice's end reason %v", e.reason)
	}
	// Ending again is fine.
	if err := alice.CallManager().EndCall(ctxT(t), s.CallID(), duet.EndReasonHangup); err != nil {
		t.Fatalf("second end: %v", err)
	}
	for _, c := range []*media.FrameCounter{mediaA.audio, mediaA.video, mediaB.audio, mediaB.video} {
		c.Close()
	}
	checkDecodes(t, filepath.Join(dir, "at-alice.ivf"), "vp8")
	checkDecodes(t, filepath.Join(dir, "at-bob.ogg"), "opus")

	srv.FlushCallRecords()
	rec, err := srv.Store().GetCall(context.Background(), srv.AppKey, s.CallID())
	if err != nil {
		t.Fatalf("call record: %v", err)
	}
	if rec.Caller != "alice" || rec.Callee != "bob" || rec.EndReason != int(duet.EndReasonHangup) || rec.EndedBy != "alice" ||
		rec.ConnectType != int(duet.ConnectTypeDirect) || rec.AcceptedAt.IsZero() || rec.ConnectedAt.IsZero() || rec.Ext != "hello ext" {
		t.Fatalf("call record %+v", rec)
	}
}

// checkDecodes runs ffprobe over a sink's file and checks the codec and that frames decode.
func checkDecodes(t *testing.T, path, codec string) {
	t.Helper()
	if _, err := exec.LookPath("ffprobe"); err != nil {
		t.Skip("ffprobe not installed (scripts/test.sh installs it)")
	}
	out, err := exec.Command("ffprobe", "-v", "error", "-count_frames", "-show_entries",
		"stream=codec_name,nb_read_frames", "-of", "csv=p=0", path).CombinedOutput()
	if err != nil {
		t.Fatalf("ffprobe %s: %v\n%s", path, err, out)
	}
	fields := strings.Split(strings.TrimSpace(string(out)), ",")
	if len(fields) < 2 || fields[0] != codec || fields[1] == "0" || fields[1] == "" {
		t.Fatalf("ffprobe %s: %q, want %s with frames", path, out, codec)
	}
}

func TestDecline(t *testing.T) {
	srv := servertest.Start(t)
	alice, recA := newClient(t, srv, "alice")
	bob, recB := newClient(t, srv, "bob")
	s, err := alice.CallManager().StartCall(ctxT(t), duet.CallTypeVoice, "bob", "")
	if err != nil {
		t.Fatal(err)
	}
	in := recB.wait(t, "receive").session
	if err := bob.CallManager().EndCall(ctxT(t), in.CallID(), duet.EndReasonDecline); err != nil {
		t.Fatal(err)
	}
	if e := recA.wait(t, "end"); e.reason != duet.EndReasonDecline || e.session != s {
		t.Fatalf("caller end reason %v", e.reason)
	}
	if recA.has("accept") {
		t.Fatal("a declined call was accepted")
	}
}

func TestBusyAndOffline(t *testing.T) {
	srv := servertest.Start(t)
	alice, _ := newClient(t, srv, "alice")
	_, recB := newClient(t, srv, "bob")
	carol, recC := newClient(t, srv, "carol")
	dave, _ := newClient(t, srv, "dave")
	if err := dave.Logout(ctxT(t)); err != nil { // dave exists but is offline
		t.Fatal(err)
	}

	if _, err := alice.CallManager().StartCall(ctxT(t), duet.CallTypeVoice, "bob", ""); err != nil {
		t.Fatal(err)
	}
	recB.wait(t, "receive")
	// bob is being called: carol's call to him ends Busy.
	if _, err := carol.CallManager().StartCall(ctxT(t), duet.CallTypeVoice, "bob", ""); err != nil {
		t.Fatal(err)
	}
	if e := recC.wait(t, "end"); e.reason != duet.EndReasonBusy {
		t.Fatalf("carol's end reason %v, want Busy", e.reason)
	}
	// alice is already in a call: a second one is refused with CallBusy.
	if _, err := alice.CallManager().StartCall(ctxT(t), duet.CallTypeVoice, "carol", ""); duet.ErrorCodeOf(err) != duet.ErrorCallBusy {
		t.Fatalf("second call: %v, want CallBusy", err)
	}
	if _, err := carol.CallManager().StartCall(ctxT(t), duet.CallTypeVoice, "dave", ""); duet.ErrorCodeOf(err) != duet.ErrorCallRemoteOffline {
		t.Fatalf("offline callee: %v, want CallRemoteOffline", err)
	}
	if _, err := carol.CallManager().StartCall(ctxT(t), duet.CallTypeVoice, "nobody", ""); duet.ErrorCodeOf(err) != duet.ErrorUserNotFound {
		t.Fatalf("unknown callee: %v, want UserNotFound", err)
	}
	if _, err := carol.CallManager().StartCall(ctxT(t), duet.CallTypeVoice, "Carol", ""); duet.ErrorCodeOf(err) != 905 {
		t.Fatalf("self call: %v, want 905", err)
	}
	srv.FlushCallRecords()
	recs, _, err := srv.Store().ListCalls(context.Background(), srv.AppKey, store.CallFilter{User: "carol"})
	if err != nil || len(recs) < 2 {
		t.Fatalf("carol's call records: %d, %v", len(recs), err)
	}
}

// TestNoResponse drives the server's ring timer with a fake clock: no sleeping 45 s.
func TestNoResponse(t *testing.T) {
	fake := newFakeClock()
	srv := servertest.Start(t, servertest.WithClock(fake))
	alice, recA := newClient(t, srv, "alice")
	_, recB := newClient(t, srv, "bob")
	if _, err := alice.CallManager().StartCall(ctxT(t), duet.CallTypeVoice, "bob", ""); err != nil {
		t.Fatal(err)
	}
	recB.wait(t, "receive")
	fake.Advance(45 * time.Second)
	if e := recA.wait(t, "end"); e.reason != duet.EndReasonNoResponse {
		t.Fatalf("caller end reason %v, want NoResponse", e.reason)
	}
	if e := recB.wait(t, "end"); e.reason != duet.EndReasonNoResponse {
		t.Fatalf("callee end reason %v, want NoResponse", e.reason)
	}
}

func TestAnsweredElsewhere(t *testing.T) {
	srv := servertest.Start(t)
	alice, recA := newClient(t, srv, "alice")
	bob1, rec1 := newClient(t, srv, "bob", func(o *duet.Options) { o.DeviceID = "bob-phone" })
	_, rec2 := newClient(t, srv, "bob", func(o *duet.Options) { o.DeviceID = "bob-laptop" })
	s, err := alice.CallManager().StartCall(ctxT(t), duet.CallTypeVideo, "bob", "")
	if err != nil {
		t.Fatal(err)
	}
	in := rec1.wait(t, "receive").session
	rec2.wait(t, "receive")
	recA.wait(t, "connect")
	if err := bob1.CallManager().AnswerIncomingCall(ctxT(t), in.CallID()); err != nil {
		t.Fatal(err)
	}
	recA.wait(t, "accept")
	if e := rec2.wait(t, "end"); e.reason != duet.EndReasonAnsweredElsewhere {
		t.Fatalf("other device's end reason %v, want AnsweredElsewhere", e.reason)
	}
	if err := bob1.CallManager().EndCall(ctxT(t), in.CallID(), duet.EndReasonHangup); err != nil {
		t.Fatal(err)
	}
	if e := recA.wait(t, "end"); e.reason != duet.EndReasonHangup || e.session != s {
		t.Fatalf("caller end reason %v", e.reason)
	}
}

// TestRemoteCloseWaitsForServer: when the other device closes its media connection on
// purpose (DTLS close, reported by rtc as ErrClosedByRemote), the call does not fail at once, since the server's call.ended with
// the real reason is on its way; only when neither it nor a new connection comes within
// the grace (on a fake clock) does the call end as Failed (4), on both sides.
func TestRemoteCloseWaitsForServer(t *testing.T) {
	srv := servertest.Start(t)
	dir := t.TempDir()
	alice, recA := newClient(t, srv, "rcalice")
	bob, recB := newClient(t, srv, "rcbob")
	clk := clock.NewFake(time.Now())
	duet.SetTestClock(alice, clk)
	withMedia(t, alice, dir, "rc-at-alice")
	withMedia(t, bob, dir, "rc-at-bob")
	s, _ := answeredCall(t, alice, recA, bob, recB, "rcbob")

	duet.RemoteClosed(alice, s) // as if bob's DTLS close reached alice; the call goes on
	if clk.Pending() == 0 {
		t.Fatalf("no grace timer after the remote close (events %v)", recA.names())
	}
	time.Sleep(300 * time.Millisecond) // asserting an absence: the call must not end yet
	if recA.has("end") || s.Status() == duet.CallStatusDisconnected {
		t.Fatalf("alice's call ended at once on the remote close: %v", recA.names())
	}
	clk.Advance(5 * time.Second)
	if e := recA.wait(t, "end"); e.reason != duet.EndReasonFailed {
		t.Fatalf("alice's end reason %v, want Failed", e.reason)
	}
	if e := recB.wait(t, "end"); e.reason != duet.EndReasonFailed {
		t.Fatalf("bob's end reason %v, want Failed", e.reason)
	}
}
