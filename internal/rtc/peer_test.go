package rtc

import (
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/duet-rtc/duet/media"
	"github.com/duet-rtc/duet/protocol"
)

func TestPreconnectSendsNothingUntilStartSending(t *testing.T) {
	defer guardTest(t)()
	dir := t.TempDir()
	a, b := newSide(t, Config{Audio: true, Video: true}), newSide(t, Config{Audio: true, Video: true})
	// a records what it receives to files, through its counters.
	ogg, err := media.CreateOgg(filepath.Join(dir, "remote.ogg"))
	if err != nil {
		t.Fatal(err)
	}
	ivf, err := media.CreateIVF(filepath.Join(dir, "remote.ivf"))
	if err != nil {
		t.Fatal(err)
	}
	a.audio = media.NewFrameCounter(media.CodecOpus, ogg)
	a.video = media.NewFrameCounter(media.CodecVP8, ivf)
	a.peer.SetSinks(a.audio, a.video)
	a.other.Store(b.peer)
	b.other.Store(a.peer)
	negotiate(t, a, b)
	waitConnected(t, a, b)
	if a.peer.ConnectType() != protocol.ConnectDirect || b.peer.ConnectType() != protocol.ConnectDirect {
		t.Fatalf("ConnectType %v / %v", a.peer.ConnectType(), b.peer.ConnectType())
	}

	// Connected while ringing: nothing may flow. Waiting is the only way to see an absence.
	time.Sleep(300 * time.Millisecond)
	for _, s := range []*side{a, b} {
		if n := s.audio.Stats().Packets + s.video.Stats().Packets; n != 0 {
			t.Fatalf("%d packets received before StartSending", n)
		}
		if st := s.peer.Stats(); st.Audio.PacketsSent+st.Video.PacketsSent != 0 {
			t.Fatalf("sent before StartSending: %+v", st)
		}
	}

	// Accept: both send. a sends the pattern, b the bars, so each side's picture is known.
	if err := a.peer.StartSending(openSource(t, media.OpenOgg, toneFile), openSource(t, media.OpenIVF, patternFile)); err != nil {
		t.Fatal(err)
	}
	tone, _ := media.NewTone(660, 48000)
	if err := b.peer.StartSending(tone, openSource(t, media.OpenIVF, barsFile)); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		s    *side
		w, h int
	}{{a, 160, 120}, {b, 320, 240}} {
		v := waitFor(t, "a second of video", c.s.video, func(s media.CounterStats) bool { return s.Frames >= 30 })
		if !v.StartedWithKeyframe || v.Width != c.w || v.Height != c.h {
			t.Errorf("video: %+v, want to start with a %dx%d keyframe", v, c.w, c.h)
		}
		waitFor(t, "a second of audio", c.s.audio, func(s media.CounterStats) bool { return s.Frames >= 50 })
	}
	for _, s := range []*side{a, b} {
		got := map[string]bool{<-s.tracks: true, <-s.tracks: true}
		if !got["audio"] || !got["video"] {
			t.Errorf("OnRemoteTrack: %v", got)
		}
		st := s.peer.Stats()
		if st.Audio.PacketsSent == 0 || st.Video.PacketsReceived == 0 || st.Video.BytesSent == 0 {
			t.Errorf("stats: %+v", st)
		}
	}
	if err := b.peer.StartSending(nil, nil); err == nil {
		t.Error("second StartSending accepted")
	}
	closeSides(t, a, b)
	ogg.Close()
	ivf.Close()

	if _, err := exec.LookPath("ffprobe"); err != nil {
		t.Skip("ffprobe not installed: recordings not checked")
	}
	for file, want := range map[string]string{"remote.ivf": "vp8", "remote.ogg": "opus"} {
		codec, frames := probe(t, filepath.Join(dir, file))
		if codec != want || frames == 0 {
			t.Errorf("%s: codec %q with %d frames, want %s", file, codec, frames, want)
		}
	}
}

// probe returns the codec and decoded frame count of a media file's first stream.
func probe(t *testing.T, path string) (string, int) {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-count_frames", "-show_entries",
		"stream=codec_name,nb_read_frames", "-of", "csv=p=0", path).CombinedOutput()
	if err != nil {
		t.Fatalf("ffprobe %s: %v\n%s", path, err, out)
	}
	codec, n, _ := strings.Cut(strings.TrimSpace(string(out)), ",")
	frames, _ := strconv.Atoi(n)
	return codec, frames
}

func TestPauseAndResume(t *testing.T) {
	defer guardTest(t)()
	a, b := newPair(t, Config{Audio: true, Video: true})
	defer closeSides(t, a, b)
	waitConnected(t, a, b)
	if err := a.peer.StartSending(media.NewSilence(), openSource(t, media.OpenIVF, patternFile)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "video", b.video, func(s media.CounterStats) bool { return s.Frames >= 5 })

	// Video paused: its packets stop, audio goes on.
	a.peer.PauseVideo()
	time.Sleep(100 * time.Millisecond) // packets already in flight land
	video, audio := b.video.Stats(), b.audio.Stats()
	time.Sleep(300 * time.Millisecond)
	if got := b.video.Stats().Packets; got != video.Packets {
		t.Fatalf("video paused, yet %d more packets arrived", got-video.Packets)
	}
	if got := b.audio.Stats().Packets; got < audio.Packets+10 {
		t.Fatalf("audio stalled with video paused: %d then %d packets", audio.Packets, got)
	}

	// Resumed: video comes back, starting with a keyframe.
	b.video.Reset()
	a.peer.ResumeVideo()
	v := waitFor(t, "video after resume", b.video, func(s media.CounterStats) bool { return s.Frames >= 3 })
	if !v.StartedWithKeyframe {
		t.Fatalf("video resumed without a keyframe: %+v", v)
	}

	// Audio paused: its packets stop, video goes on.
	a.peer.PauseAudio()
	time.Sleep(100 * time.Millisecond)
	video, audio = b.video.Stats(), b.audio.Stats()
	time.Sleep(300 * time.Millisecond)
	if got := b.audio.Stats().Packets; got != audio.Packets {
		t.Fatalf("audio paused, yet %d more packets arrived", got-audio.Packets)
	}
	if got := b.video.Stats().Frames; got < video.Frames+5 {
		t.Fatalf("video stalled with audio paused: %d then %d frames", video.Frames, got)
	}
	a.peer.ResumeAudio()
	waitFor(t, "audio after resume", b.audio, func(s media.CounterStats) bool { return s.Packets > audio.Packets+5 })
}

func TestPauseBeforeStartSendingHolds(t *testing.T) {
	defer guardTest(t)()
	a, b := newPair(t, Config{Audio: true, Video: true})
	defer closeSides(t, a, b)
	waitConnected(t, a, b)
	a.peer.PauseVideo() // the camera was off when the call was accepted
	if err := a.peer.StartSending(media.NewSilence(), openSource(t, media.OpenIVF, patternFile)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "audio", b.audio, func(s media.CounterStats) bool { return s.Frames >= 10 })
	if n := b.video.Stats().Packets; n != 0 {
		t.Fatalf("%d video packets while paused", n)
	}
	a.peer.ResumeVideo()
	v := waitFor(t, "video", b.video, func(s media.CounterStats) bool { return s.Frames >= 1 })
	if !v.StartedWithKeyframe {
		t.Fatalf("%+v", v)
	}
}

func TestReplaceVideoSource(t *testing.T) {
	defer guardTest(t)()
	a, b := newPair(t, Config{Audio: true, Video: true})
	defer closeSides(t, a, b)
	waitConnected(t, a, b)
	sdp := a.peer.pc.LocalDescription().SDP
	if err := a.peer.StartSending(nil, openSource(t, media.OpenIVF, patternFile)); err != nil {
		t.Fatal(err)
	}
	v := waitFor(t, "front camera", b.video, func(s media.CounterStats) bool { return s.Frames >= 5 })
	if v.Width != 320 {
		t.Fatalf("first source: %+v", v)
	}
	b.video.Reset()
	if err := a.peer.ReplaceVideoSource(openSource(t, media.OpenIVF, barsFile)); err != nil {
		t.Fatal(err)
	}
	v = waitFor(t, "back camera", b.video, func(s media.CounterStats) bool { return s.Keyframes >= 1 && s.Width == 160 })
	// Frames in flight from the old source may land first; the new one must begin with its
	// keyframe, which is at once the first 160x120 frame.
	if v.Height != 120 {
		t.Fatalf("second source: %+v", v)
	}
	if got := a.peer.pc.LocalDescription().SDP; got != sdp {
		t.Fatal("switching sources renegotiated")
	}
	if err := a.peer.ReplaceVideoSource(media.NewSilence()); err == nil {
		t.Fatal("an Opus source accepted as video")
	}
}

func TestKeyframeOnRequest(t *testing.T) {
	defer guardTest(t)()
	a, b := newPair(t, Config{Video: true})
	defer closeSides(t, a, b)
	waitConnected(t, a, b)
	src := &countingSource{Source: openSource(t, media.OpenIVF, patternFile)}
	if err := a.peer.StartSending(nil, src); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "video", b.video, func(s media.CounterStats) bool { return s.Frames >= 1 })
	if n := src.restarts.Load(); n != 1 {
		t.Fatalf("%d restarts at start, want 1", n)
	}
	// A PLI right after the first keyframe is throttled; after the interval it restarts
	// the source. A new video sink asks for one too.
	b.peer.RequestKeyframe()
	time.Sleep(keyframeMinInterval + 50*time.Millisecond)
	b.peer.SetSinks(nil, media.NewFrameCounter(media.CodecVP8, nil))
	deadline := time.Now().Add(testTimeout)
	for src.restarts.Load() < 2 {
		if time.Now().After(deadline) {
			t.Fatal("no keyframe after PLI")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if n := src.restarts.Load(); n != 2 {
		t.Fatalf("%d restarts, want 2 (one throttled PLI)", n)
	}
}

func TestStartSendingBeforeConnected(t *testing.T) {
	defer guardTest(t)()
	a, b := newSide(t, Config{Video: true}), newSide(t, Config{Video: true})
	defer closeSides(t, a, b)
	// Sending is asked for before the transport is up: the first keyframe must not be
	// written into the void.
	if err := a.peer.StartSending(nil, openSource(t, media.OpenIVF, patternFile)); err != nil {
		t.Fatal(err)
	}
	a.other.Store(b.peer)
	b.other.Store(a.peer)
	negotiate(t, a, b)
	waitConnected(t, a, b)
	v := waitFor(t, "video", b.video, func(s media.CounterStats) bool { return s.Frames >= 3 })
	if !v.StartedWithKeyframe {
		t.Fatalf("%+v", v)
	}
}

func TestQueuedCandidates(t *testing.T) {
	defer guardTest(t)()
	// Neither side passes candidates on by itself; the test delivers each side's
	// candidates before the other has the matching description, so only the queue can
	// apply them, and ICE connects only if it did.
	a, b := newSide(t, Config{Audio: true}), newSide(t, Config{Audio: true})
	defer closeSides(t, a, b)
	offer, err := a.peer.CreateOffer()
	if err != nil {
		t.Fatal(err)
	}
	deliver := func(from *side, to *Peer) {
		t.Helper()
		select {
		case c := <-from.held:
			if err := to.AddCandidate(c); err != nil {
				t.Fatal(err)
			}
		case <-time.After(testTimeout):
			t.Fatal("no candidate gathered")
		}
	}
	deliver(a, b.peer)
	answer, err := b.peer.HandleDescription(offer)
	if err != nil {
		t.Fatal(err)
	}
	deliver(b, a.peer)
	if len(a.peer.pending) != 1 || len(b.peer.pending) != 0 {
		t.Fatalf("pending: a %d, b %d", len(a.peer.pending), len(b.peer.pending))
	}
	if _, err := a.peer.HandleDescription(*answer); err != nil {
		t.Fatal(err)
	}
	waitConnected(t, a, b)
}

func TestBadRemoteInput(t *testing.T) {
	defer guardTest(t)()
	p, err := NewPeer(Config{Audio: true, Video: true, LoopbackOnly: true}, Events{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	for _, d := range []protocol.SessionDescription{
		{Type: "offer", SDP: ""},
		{Type: "offer", SDP: "v=0\r\nthis is not sdp"},
		{Type: "rollback", SDP: "v=0\r\n"},
		{Type: "answer", SDP: "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"}, // no offer made
		{Type: "offer", SDP: strings.Repeat("a", protocol.MaxSDPBytes+1)},
	} {
		if _, err := p.HandleDescription(d); err == nil {
			t.Errorf("description %.40q accepted", d.SDP)
		}
	}
	for _, c := range []string{
		"candidate:garbage",
		"candidate:1 1 udp 2130706431 127.0.0.1 notaport typ host",
		strings.Repeat("x", protocol.MaxCandidate+1),
	} {
		if err := p.AddCandidate(protocol.ICECandidate{Candidate: c}); err == nil {
			t.Errorf("candidate %.40q accepted", c)
		}
	}
	good := protocol.ICECandidate{Candidate: "candidate:1 1 udp 2130706431 127.0.0.1 9 typ host"}
	for range maxPendingCandidates {
		if err := p.AddCandidate(good); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.AddCandidate(good); err == nil {
		t.Error("unbounded candidate queue")
	}
	if _, err := NewPeer(Config{}, Events{}); err == nil {
		t.Error("peer without tracks created")
	}
	if _, err := NewPeer(Config{Audio: true, ICEServers: []protocol.ICEServer{{URLs: []string{"bogus:x"}}}}, Events{}); err == nil {
		t.Error("bad ICE server URL accepted")
	}
}

func TestCloseFromCallbackAndTwice(t *testing.T) {
	defer guardTest(t)()
	var a *side
	a, b := newSide(t, Config{Audio: true}), newSide(t, Config{Audio: true})
	done := make(chan error, 1)
	// Close the peer from its own OnConnected callback: must not deadlock.
	a.peer.events.OnConnected = func(protocol.ConnectType) { done <- a.peer.Close() }
	a.other.Store(b.peer)
	b.other.Store(a.peer)
	negotiate(t, a, b)
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(testTimeout):
		t.Fatal("Close from a callback did not return")
	}
	if err := a.peer.Close(); err != nil {
		t.Fatal(err)
	}
	if err := a.peer.StartSending(media.NewSilence(), nil); err == nil {
		t.Fatal("StartSending after Close")
	}
	if _, err := a.peer.CreateOffer(); err == nil {
		t.Fatal("CreateOffer after Close")
	}
	// The other side sees the connection go (DTLS close_notify), reported once.
	select {
	case <-b.failed:
	case <-time.After(testTimeout):
		t.Fatal("remote close not reported")
	}
	b.peer.Close()
}
