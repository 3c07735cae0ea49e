package duet_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/duet-rtc/duet"
	"github.com/duet-rtc/duet/internal/leaktest"
	"github.com/duet-rtc/duet/media"
	"github.com/duet-rtc/duet/server/api"
	"github.com/duet-rtc/duet/server/recording"
	"github.com/duet-rtc/duet/server/servertest"
	"github.com/duet-rtc/duet/server/store"
)

// recordingClient returns a client of the server's recording API with an app token.
func recordingClient(t *testing.T, srv *servertest.Server) *api.RecordingClient {
	t.Helper()
	admin := &api.AdminClient{BaseURL: srv.URL, Token: srv.AdminToken()}
	tok, err := admin.AppToken(ctxT(t), srv.AppKey, time.Hour)
	if err != nil {
		t.Fatalf("app token: %v", err)
	}
	return &api.RecordingClient{BaseURL: srv.URL, AppKey: srv.AppKey, Token: tok.AccessToken}
}

// TestRecordedCall is the recorded-call spine: both parties connect to the server's relay
// while ringing (connectType Relay, the same serverVideoId on both sides, no media before
// accept), media flows both ways through the relay, and after the hang-up the recordings
// are listed: one WebM per party with Opus and VP8 as long as the call, and the merged file
// with both pictures side by side and one mixed audio stream. Downloads honour Range.
func TestRecordedCall(t *testing.T) {
	for _, tool := range []string{"ffmpeg", "ffprobe"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed (apt-get install ffmpeg)", tool)
		}
	}
	leaktest.Check(t)
	srv := servertest.Start(t)
	dir := t.TempDir()
	alice, recA := newClient(t, srv, "alice")
	bob, recB := newClient(t, srv, "bob")
	mediaA := withMedia(t, alice, dir, "at-alice")
	mediaB := withMedia(t, bob, dir, "at-bob")

	s, err := alice.CallManager().StartCall(ctxT(t), duet.CallTypeVideo, "bob", "", duet.WithRecord(true))
	if err != nil {
		t.Fatalf("StartCall: %v", err)
	}
	in := recB.wait(t, "receive").session
	if !in.WillRecord() {
		t.Fatal("the callee does not know the call is recorded")
	}
	recA.wait(t, "connect")
	recB.wait(t, "connect")
	for _, x := range []*duet.CallSession{s, in} {
		if x.ConnectType() != duet.ConnectTypeRelay || x.Status() != duet.CallStatusConnected {
			t.Fatalf("%s: connectType %v status %v", x.LocalName(), x.ConnectType(), x.Status())
		}
	}
	svid := s.ServerVideoID()
	if svid == "" || in.ServerVideoID() != svid {
		t.Fatalf("serverVideoId: caller %q callee %q", svid, in.ServerVideoID())
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
	accepted := time.Now()
	for name, c := range map[string]*media.FrameCounter{"alice audio": mediaA.audio, "alice video": mediaA.video, "bob audio": mediaB.audio, "bob video": mediaB.video} {
		st, err := c.Wait(ctxT(t), func(st media.CounterStats) bool { return st.Frames >= 20 })
		if err != nil {
			t.Fatalf("%s: %v (stats %+v)", name, err, c.Stats())
		}
		if c == mediaA.video || c == mediaB.video {
			if !st.StartedWithKeyframe || st.Width != 320 {
				t.Fatalf("%s through the relay: %+v", name, st)
			}
		}
	}
	const callLength = 4 * time.Second
	time.Sleep(time.Until(accepted.Add(callLength)))
	if err := alice.CallManager().EndCall(ctxT(t), s.CallID(), duet.EndReasonHangup); err != nil {
		t.Fatalf("end: %v", err)
	}
	length := time.Since(accepted)
	recB.wait(t, "end")

	srv.FlushCallRecords()
	rec, err := srv.Store().GetCall(ctxT(t), srv.AppKey, s.CallID())
	if err != nil || rec.ServerVideoID != svid || !rec.Record || !rec.MergeStream || rec.ConnectType != int(duet.ConnectTypeRelay) {
		t.Fatalf("call record: %+v %v", rec, err)
	}

	rc := recordingClient(t, srv)
	var merged api.Recording
	deadline := time.Now().Add(60 * time.Second)
	for {
		list, _, err := rc.List(ctxT(t), api.RecordingQuery{ServerVideoID: svid, Type: store.RecordTypeMerged})
		if err != nil {
			t.Fatal(err)
		}
		if len(list) == 1 && list[0].Status != store.RecordingMerging {
			merged = list[0]
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no finished merge: %+v", list)
		}
		time.Sleep(100 * time.Millisecond)
	}
	all, _, err := rc.List(ctxT(t), api.RecordingQuery{ServerVideoID: svid})
	if err != nil || len(all) != 3 {
		t.Fatalf("listing: %d recordings, %v", len(all), err)
	}
	owners := map[string]bool{}
	for _, r := range all {
		if r.ServerVideoID != svid || r.CallID != s.CallID() || r.URL == "" || r.Size <= 0 || r.ExpireTime <= r.End {
			t.Errorf("recording %+v", r)
		}
		path := filepath.Join(dir, r.ID+".webm")
		download(t, rc, r.ID, path)
		p, err := recording.Probe(ctxT(t), path)
		if err != nil {
			t.Fatal(err)
		}
		if r.RecordType == store.RecordTypeMerged {
			continue
		}
		owners[r.Owner] = true
		if r.Status != store.RecordingReady || r.Width != 320 || len(p.Codecs) != 2 {
			t.Errorf("stream %+v, probed %+v", r, p)
		}
		for _, codec := range []string{"opus", "vp8"} {
			if d := p.StreamEnd[codec] - length; d > 500*time.Millisecond || d < -500*time.Millisecond {
				t.Errorf("%s's %s lasts %v, the call %v", r.Owner, codec, p.StreamEnd[codec], length)
			}
		}
	}
	if !owners["alice"] || !owners["bob"] {
		t.Errorf("owners %v", owners)
	}
	if merged.Status != store.RecordingReady || merged.RecordType != store.RecordTypeMerged || merged.Owner != "alice" {
		t.Fatalf("merged %+v", merged)
	}
	path := filepath.Join(dir, merged.ID+".webm")
	p, err := recording.Probe(ctxT(t), path)
	if err != nil {
		t.Fatal(err)
	}
	audio := 0
	for _, c := range p.Codecs {
		if c == "opus" {
			audio++
		}
	}
	if p.Width != 640 || p.Height != 240 || audio != 1 || len(p.Codecs) != 2 {
		t.Fatalf("merged file: %+v", p)
	}
	if d := p.Duration - length; d > 700*time.Millisecond || d < -700*time.Millisecond {
		t.Errorf("merged lasts %v, the call %v", p.Duration, length)
	}
	// A ranged download returns the tail of the file.
	whole, _ := os.ReadFile(path)
	var tail bytes.Buffer
	if n, err := rc.Download(ctxT(t), merged.ID, 1000, &tail); err != nil || n != int64(len(whole)-1000) || !bytes.Equal(tail.Bytes(), whole[1000:]) {
		t.Fatalf("ranged download: %d bytes, %v", n, err)
	}
}

func download(t *testing.T, rc *api.RecordingClient, id, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := rc.Download(context.Background(), id, 0, f); err != nil {
		t.Fatalf("download %s: %v", id, err)
	}
}

// TestRecordedCallSurvivesServerRestart: a recorded call goes on through a restart of the
// server. The SDKs see the new server run in welcome and offer their relay legs again; media
// flows through the new relay both ways; the recordings before and after the restart both
// play, under the call's one serverVideoId, and the later ones say they resumed the call.
func TestRecordedCallSurvivesServerRestart(t *testing.T) {
	if _, err := exec.LookPath("ffprobe"); err != nil {
		t.Skip("ffprobe not installed (apt-get install ffmpeg)")
	}
	srv := servertest.Start(t)
	dir := t.TempDir()
	alice, recA := newClient(t, srv, "alice")
	bob, recB := newClient(t, srv, "bob")
	mediaA := withMedia(t, alice, dir, "at-alice")
	mediaB := withMedia(t, bob, dir, "at-bob")
	s, err := alice.CallManager().StartCall(ctxT(t), duet.CallTypeVideo, "bob", "", duet.WithRecord(false))
	if err != nil {
		t.Fatal(err)
	}
	in := recB.wait(t, "receive").session
	if err := bob.CallManager().AnswerIncomingCall(ctxT(t), in.CallID()); err != nil {
		t.Fatal(err)
	}
	recA.wait(t, "accept")
	recB.wait(t, "accept")
	counters := []*media.FrameCounter{mediaA.audio, mediaA.video, mediaB.audio, mediaB.video}
	waitFrames := func(more int) {
		t.Helper()
		for _, c := range counters {
			want := c.Stats().Frames + more
			if _, err := c.Wait(ctxT(t), func(st media.CounterStats) bool { return st.Frames >= want }); err != nil {
				t.Fatalf("%v (stats %+v)", err, c.Stats())
			}
		}
	}
	waitFrames(20)
	svid := s.ServerVideoID()

	srv.Restart()
	waitFrames(30) // through the new server's relay
	if recA.has("end") || recB.has("end") || s.ServerVideoID() != svid {
		t.Fatalf("events %v / %v, serverVideoId %q then %q", recA.names(), recB.names(), svid, s.ServerVideoID())
	}
	if err := alice.CallManager().EndCall(ctxT(t), s.CallID(), duet.EndReasonHangup); err != nil {
		t.Fatal(err)
	}
	if e := recB.wait(t, "end"); e.reason != duet.EndReasonHangup {
		t.Fatalf("bob's call ended %v", e.reason)
	}
	srv.FlushCallRecords()
	rc := recordingClient(t, srv)
	var all []api.Recording
	deadline := time.Now().Add(20 * time.Second)
	for {
		all, _, err = rc.List(ctxT(t), api.RecordingQuery{ServerVideoID: svid, Type: store.RecordTypeStream})
		if err != nil {
			t.Fatal(err)
		}
		done := len(all) == 4
		for _, r := range all {
			done = done && r.Status != store.RecordingActive
		}
		if done || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	resumed := map[string]int{}
	for _, r := range all {
		if r.Status != store.RecordingReady || r.Size <= 0 {
			t.Fatalf("recording %+v", r)
		}
		if strings.HasPrefix(r.Detail, "resumed after a server restart") {
			resumed[r.Owner]++
		}
		path := filepath.Join(dir, r.ID+".webm")
		download(t, rc, r.ID, path)
		if p, err := recording.Probe(ctxT(t), path); err != nil || len(p.Codecs) != 2 || p.Duration <= 0 {
			t.Fatalf("%s's recording %s: %+v, %v", r.Owner, r.ID, p, err)
		}
	}
	if len(all) != 4 || resumed["alice"] != 1 || resumed["bob"] != 1 {
		t.Fatalf("%d stream recordings, resumed %v: %+v", len(all), resumed, all)
	}
}
