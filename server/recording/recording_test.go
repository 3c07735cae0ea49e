package recording

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"

	"github.com/duet-rtc/duet/internal/clock"
	"github.com/duet-rtc/duet/internal/leaktest"
	"github.com/duet-rtc/duet/media"
	"github.com/duet-rtc/duet/server/media/relay"
	"github.com/duet-rtc/duet/server/store"
	"github.com/duet-rtc/duet/server/store/sqlite"
)

const (
	testIVF = "../../testdata/media/pattern-320x240.ivf"
	testOgg = "../../testdata/media/tone-440.ogg"
)

func openStore(t *testing.T) *sqlite.Store {
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "duet.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// feed plays d of the test media into tap as side, as if it arrived from base on.
func feed(t *testing.T, tap relay.Tap, side relay.Side, base time.Time, d time.Duration) {
	feedKinds(t, tap, side, base, d, true)
}

// feedKinds is feed, with or without video.
func feedKinds(t *testing.T, tap relay.Tap, side relay.Side, base time.Time, d time.Duration, withVideo bool) {
	t.Helper()
	a, err := media.OpenOgg(testOgg)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	v, err := media.OpenIVF(testIVF)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	type src struct {
		s    media.Source
		kind relay.Kind
		pk   rtp.Packetizer
		rate float64
		at   time.Duration
	}
	srcs := []*src{
		{a, relay.Audio, rtp.NewPacketizer(1200, 111, 1, &codecs.OpusPayloader{}, rtp.NewRandomSequencer(), 48000), 48000, 0},
		{v, relay.Video, rtp.NewPacketizer(1200, 96, 2, &codecs.VP8Payloader{EnablePictureID: true}, rtp.NewRandomSequencer(), 90000), 90000, 0},
	}
	n := 0
	for {
		next := srcs[0]
		if withVideo && srcs[1].at < next.at {
			next = srcs[1]
		}
		if next.at >= d {
			return
		}
		smp, err := next.s.Next()
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range next.pk.Packetize(smp.Data, uint32(smp.Duration.Seconds()*next.rate)) {
			tap.RTP(side, next.kind, p, base.Add(next.at))
			if n++; n%100 == 0 {
				time.Sleep(time.Millisecond) // the recorder's queue drops what it cannot take
			}
		}
		next.at += smp.Duration
	}
}

func waitStatus(t *testing.T, st store.RecordingStore, app, svid, typ string, want string) store.Recording {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		list, _, err := st.ListRecordings(context.Background(), app, store.RecordingFilter{ServerVideoID: svid, RecordType: typ})
		if err != nil {
			t.Fatal(err)
		}
		if len(list) == 1 && list[0].Status == want {
			return list[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s recording with status %s: %+v", typ, want, list)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestRecordAndMerge records two parties, one starting 0.5 s after the other, and merges
// them: per-stream files of the right length, a merged file twice as wide with one audio
// stream, rows with the right types and statuses.
func TestRecordAndMerge(t *testing.T) {
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg not installed")
	}
	leaktest.Check(t)
	st := openStore(t)
	dir := t.TempDir()
	s, err := New(st, Config{Dir: dir, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	svid := ServerVideoIDOf("o#a", "c1")
	c, err := s.StartCall(CallInfo{App: "o#a", CallID: "c1", ServerVideoID: svid, Parties: [2]string{"alice", "bob"}, Video: true, Merge: true})
	if err != nil {
		t.Fatal(err)
	}
	base := time.Now().Add(-3 * time.Second)
	feed(t, c, relay.Caller, base, 3*time.Second)
	feed(t, c, relay.Callee, base.Add(500*time.Millisecond), 2500*time.Millisecond)
	c.Finish()
	list, _, err := st.ListRecordings(context.Background(), "o#a", store.RecordingFilter{ServerVideoID: svid, RecordType: store.RecordTypeStream})
	if err != nil || len(list) != 2 {
		t.Fatalf("streams: %+v %v", list, err)
	}
	for _, r := range list {
		if r.Status != store.RecordingReady || r.Width != 320 || r.Expires.Sub(r.End) < 29*24*time.Hour {
			t.Errorf("stream row %+v", r)
		}
		p, err := Probe(context.Background(), filepath.Join(dir, r.File))
		if err != nil {
			t.Fatal(err)
		}
		var tm Timing
		if b, err := os.ReadFile(filepath.Join(dir, r.File) + timingSuffix); err != nil || json.Unmarshal(b, &tm) != nil || tm.Start.Sub(r.Begin).Abs() >= time.Millisecond || tm.FirstAt[1].IsZero() {
			t.Errorf("timing of %s: %+v %v", r.Owner, tm, err)
		}
		want := 3 * time.Second
		if r.Owner == "bob" {
			want = 2500 * time.Millisecond
		}
		for _, codec := range []string{"opus", "vp8"} {
			if d := p.StreamEnd[codec] - want; d > 300*time.Millisecond || d < -300*time.Millisecond {
				t.Errorf("%s %s ends at %v, want about %v", r.Owner, codec, p.StreamEnd[codec], want)
			}
		}
	}
	m := waitStatus(t, st, "o#a", svid, store.RecordTypeMerged, store.RecordingReady)
	p, err := Probe(context.Background(), filepath.Join(dir, m.File))
	if err != nil {
		t.Fatal(err)
	}
	if p.Width != 640 || p.Height != 240 || len(p.Codecs) != 2 || m.Width != 640 || m.Owner != "alice" {
		t.Fatalf("merged: probe %+v row %+v", p, m)
	}
	if d := p.Duration - 3*time.Second; d > 400*time.Millisecond || d < -400*time.Millisecond {
		t.Errorf("merged duration %v, want about 3 s", p.Duration)
	}
	// Delete removes the file and the row.
	if err := s.Delete(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, m.File)); !os.IsNotExist(err) {
		t.Errorf("merged file still there: %v", err)
	}
}

// TestMergeUnavailable: without ffmpeg, the merged row says so and the streams remain.
func TestMergeUnavailable(t *testing.T) {
	leaktest.Check(t)
	st := openStore(t)
	s, err := New(st, Config{Dir: t.TempDir(), FFmpeg: "none", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c, _ := s.StartCall(CallInfo{App: "o#a", CallID: "c1", ServerVideoID: "v1", Parties: [2]string{"alice", "bob"}, Video: true, Merge: true})
	feed(t, c, relay.Caller, time.Now(), time.Second)
	c.Finish()
	m := waitStatus(t, st, "o#a", "v1", store.RecordTypeMerged, store.RecordingMergeUnavailable)
	if m.Detail == "" || m.File != "" {
		t.Fatalf("merged row %+v", m)
	}
	waitStatus(t, st, "o#a", "v1", store.RecordTypeStream, store.RecordingReady)
}

// TestRetentionAndRecovery: rows left "recording" by a crash become interrupted at the next
// start; the janitor deletes what expired on the clock, files included.
func TestRetentionAndRecovery(t *testing.T) {
	leaktest.Check(t)
	st := openStore(t)
	dir := t.TempDir()
	clk := clock.NewFake(time.Now())
	ctx := context.Background()
	// A crashed run: a row still recording, with its file.
	if err := os.MkdirAll(filepath.Join(dir, "v0"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "v0", "a.webm"), []byte("partial"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := st.SaveRecording(ctx, store.Recording{ID: "a", App: "o#a", ServerVideoID: "v0", RecordType: store.RecordTypeStream, Status: store.RecordingActive, File: "v0/a.webm", Begin: clk.Now()}); err != nil {
		t.Fatal(err)
	}
	s, err := New(st, Config{Dir: dir, Retention: time.Hour, JanitorInterval: time.Minute, Clock: clk, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	r, err := st.GetRecording(ctx, "o#a", "a")
	if err != nil || r.Status != store.RecordingInterrupted || r.Size != 7 || r.Expires.IsZero() {
		t.Fatalf("recovered row %+v %v", r, err)
	}
	clk.Advance(30 * time.Minute)
	if _, err := st.GetRecording(ctx, "o#a", "a"); err != nil {
		t.Fatalf("deleted before expiry: %v", err)
	}
	clk.Advance(31 * time.Minute)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := st.GetRecording(ctx, "o#a", "a"); err != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("expired recording not deleted")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := os.Stat(filepath.Join(dir, "v0", "a.webm")); !os.IsNotExist(err) {
		t.Fatalf("expired file still there: %v", err)
	}
}

// TestMergeVoice merges a voice call: one mixed Opus stream, no video.
func TestMergeVoice(t *testing.T) {
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg not installed")
	}
	leaktest.Check(t)
	st := openStore(t)
	dir := t.TempDir()
	s, err := New(st, Config{Dir: dir, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c, _ := s.StartCall(CallInfo{App: "o#a", CallID: "c1", ServerVideoID: "v1", Parties: [2]string{"alice", "bob"}, Merge: true})
	base := time.Now().Add(-2 * time.Second)
	feedKinds(t, c, relay.Caller, base, 2*time.Second, false)
	feedKinds(t, c, relay.Callee, base.Add(300*time.Millisecond), 1700*time.Millisecond, false)
	c.Finish()
	m := waitStatus(t, st, "o#a", "v1", store.RecordTypeMerged, store.RecordingReady)
	p, err := Probe(context.Background(), filepath.Join(dir, m.File))
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Codecs) != 1 || p.Codecs[0] != "opus" || m.Width != 0 {
		t.Fatalf("merged voice: %+v %+v", p, m)
	}
	if d := p.Duration - 2*time.Second; d > 300*time.Millisecond || d < -300*time.Millisecond {
		t.Errorf("merged voice lasts %v, want about 2 s", p.Duration)
	}
}
