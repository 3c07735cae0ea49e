package rtc

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/duet-rtc/duet/media"
)

// A trimmed description as pion writes it.
const pionOffer = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1\r\n" +
	"m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=rtpmap:111 opus/48000/2\r\n" +
	"a=fmtp:111 minptime=10;useinbandfec=1\r\na=sendrecv\r\n" +
	"m=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=mid:1\r\na=rtpmap:96 VP8/90000\r\na=sendrecv\r\n"

func TestWithBandwidth(t *testing.T) {
	got := withBandwidth(pionOffer, Bandwidth{MaxAudioKbps: 24, MaxVideoKbps: 300})
	for _, want := range []string{
		"m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\nb=AS:24\r\nb=TIAS:24000\r\na=mid:0\r\n",
		"a=fmtp:111 minptime=10;useinbandfec=1;maxaveragebitrate=24000\r\n",
		"m=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\nb=AS:300\r\nb=TIAS:300000\r\na=mid:1\r\n",
	} {
		if !strings.Contains(got, want) {
			t.Fatalf("missing %q in\n%s", want, got)
		}
	}
	if !strings.HasPrefix(got, "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1\r\n") {
		t.Fatalf("session part changed:\n%s", got)
	}
	// Rewriting again replaces rather than adds; an adaptive video cap writes nothing.
	again := withBandwidth(got, Bandwidth{MaxAudioKbps: 40})
	if strings.Count(again, "b=AS:") != 1 || !strings.Contains(again, "b=AS:40\r\n") ||
		!strings.Contains(again, "useinbandfec=1;maxaveragebitrate=40000\r\n") {
		t.Fatalf("second rewrite:\n%s", again)
	}
	a, v := remoteBandwidth(got)
	if a != 24000 || v != 300000 {
		t.Fatalf("remoteBandwidth: %d %d", a, v)
	}
	if a, v := remoteBandwidth(again); a != 40000 || v != 0 {
		t.Fatalf("remoteBandwidth after the rewrite: %d %d", a, v)
	}
}

func TestRemoteBandwidthOfForeignDescriptions(t *testing.T) {
	for _, c := range []struct {
		name         string
		sdp          string
		audio, video int
	}{
		{"none", pionOffer, 0, 0},
		{"AS only", strings.Replace(pionOffer, "a=mid:1\r\n", "b=AS:512\r\na=mid:1\r\n", 1), 0, 512000},
		{"TIAS wins over AS", strings.Replace(pionOffer, "a=mid:1\r\n", "b=AS:512\r\nb=TIAS:400000\r\na=mid:1\r\n", 1), 0, 400000},
		{"maxaveragebitrate", strings.Replace(pionOffer, "useinbandfec=1", "useinbandfec=1; maxaveragebitrate=20000", 1), 20000, 0},
		{"garbage values are no limit", strings.Replace(pionOffer, "a=mid:1\r\n", "b=AS:-5\r\nb=TIAS:lots\r\na=mid:1\r\n", 1), 0, 0},
		{"bare newlines", strings.ReplaceAll(strings.Replace(pionOffer, "a=mid:1\r\n", "b=AS:100\r\na=mid:1\r\n", 1), "\r\n", "\n"), 0, 100000},
		{"not sdp at all", "hello", 0, 0},
	} {
		if a, v := remoteBandwidth(c.sdp); a != c.audio || v != c.video {
			t.Errorf("%s: %d %d, want %d %d", c.name, a, v, c.audio, c.video)
		}
	}
}

// rateSource records the bitrate the Peer sets on a live encoder.
type rateSource struct {
	media.Source
	bps atomic.Int64
}

func (r *rateSource) SetTargetBitrate(bps int) { r.bps.Store(int64(bps)) }

// TestPeerBandwidthCapsTheSender: b asks for at most 200 kbit/s of video and 16 of audio;
// a's encoders are set to that through the description, and b sends REMB.
func TestPeerBandwidthCapsTheSender(t *testing.T) {
	defer guardTest(t)()
	a := newSide(t, Config{Audio: true, Video: true})
	b := newSide(t, Config{Audio: true, Video: true, Bandwidth: Bandwidth{MaxAudioKbps: 16, MaxVideoKbps: 200}})
	defer closeSides(t, a, b)
	a.other.Store(b.peer)
	b.other.Store(a.peer)
	offer, err := a.peer.CreateOffer()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(offer.SDP, "b=AS:32\r\n") || strings.Contains(offer.SDP, "b=TIAS:0") {
		t.Fatalf("a's offer (audio default 32, video adaptive):\n%s", offer.SDP)
	}
	answer, err := b.peer.HandleDescription(offer)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(answer.SDP, "b=AS:200\r\n") || !strings.Contains(answer.SDP, "maxaveragebitrate=16000") {
		t.Fatalf("b's answer:\n%s", answer.SDP)
	}
	if _, err := a.peer.HandleDescription(*answer); err != nil {
		t.Fatal(err)
	}
	waitConnected(t, a, b)
	if got := a.peer.Stats().VideoTargetBitrate; got != 200_000 {
		t.Fatalf("a's video target %d, want b's 200000", got)
	}
	audio := &rateSource{Source: openSource(t, media.OpenOgg, toneFile)}
	video := &rateSource{Source: openSource(t, media.OpenIVF, patternFile)}
	if err := a.peer.StartSending(audio, video); err != nil {
		t.Fatal(err)
	}
	if audio.bps.Load() != 16_000 || video.bps.Load() != 200_000 {
		t.Fatalf("targets given to the sources: audio %d video %d", audio.bps.Load(), video.bps.Load())
	}
	// b's REMB arrives within a couple of seconds and holds a at 200 kbit/s.
	waitFor(t, "video", b.video, func(s media.CounterStats) bool { return s.Frames >= 60 })
	if got := a.peer.Stats().VideoTargetBitrate; got != 200_000 {
		t.Fatalf("a's video target after REMB: %d", got)
	}
}

func TestCaptureKeyframeAndLastSent(t *testing.T) {
	defer guardTest(t)()
	a, b := newPair(t, Config{Audio: true, Video: true})
	defer closeSides(t, a, b)
	waitConnected(t, a, b)
	if a.peer.LastSentKeyframe() != nil {
		t.Fatal("a keyframe before sending")
	}
	if err := a.peer.StartSending(nil, openSource(t, media.OpenIVF, patternFile)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "video", b.video, func(s media.CounterStats) bool { return s.Frames >= 3 })
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	frame, err := b.peer.CaptureKeyframe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if w, h, ok := media.VP8Size(frame); !ok || w != 320 || h != 240 {
		t.Fatalf("captured frame: %dx%d %v", w, h, ok)
	}
	if w, h, ok := media.VP8Size(a.peer.LastSentKeyframe()); !ok || w != 320 || h != 240 {
		t.Fatalf("last sent keyframe: %dx%d %v", w, h, ok)
	}
	st := b.peer.Stats()
	if st.RemoteVideoWidth != 320 || st.RemoteVideoHeight != 240 || st.Video.FramesReceived == 0 || st.Audio.FramesReceived != 0 {
		t.Fatalf("b's stats: %+v", st)
	}
	if st := a.peer.Stats(); st.Video.FramesSent == 0 {
		t.Fatalf("a's stats: %+v", st)
	}
	// A capture that never gets its frame ends with its context.
	short, cancel2 := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel2()
	a.peer.PauseVideo()
	time.Sleep(100 * time.Millisecond)
	if _, err := b.peer.CaptureKeyframe(short); err == nil {
		t.Fatal("capture from a paused sender succeeded")
	}
}

// liveSource is a live video source the test feeds frame by frame from a file.
type liveSource struct {
	media.Source
	ready chan struct{}
	queue chan media.Sample
}

func (l *liveSource) Ready() <-chan struct{} { return l.ready }

func (l *liveSource) Next() (media.Sample, error) {
	select {
	case s := <-l.queue:
		return s, nil
	default:
		return media.Sample{Duration: time.Hour}, nil // Ready must wake the sender
	}
}

func (l *liveSource) Restart() error { return nil }

func TestLiveSourceSendsWhenFed(t *testing.T) {
	defer guardTest(t)()
	a, b := newPair(t, Config{Video: true})
	defer closeSides(t, a, b)
	waitConnected(t, a, b)
	file := openSource(t, media.OpenIVF, patternFile)
	live := &liveSource{Source: file, ready: make(chan struct{}, 1), queue: make(chan media.Sample, 100)}
	if err := a.peer.StartSending(nil, live); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	if n := b.video.Stats().Packets; n != 0 {
		t.Fatalf("%d packets before the first frame was fed", n)
	}
	for i := 0; i < 10; i++ {
		s, _ := file.Next()
		live.queue <- s
		select {
		case live.ready <- struct{}{}:
		default:
		}
		time.Sleep(33 * time.Millisecond)
	}
	v := waitFor(t, "fed frames", b.video, func(s media.CounterStats) bool { return s.Frames >= 10 })
	if !v.StartedWithKeyframe {
		t.Fatalf("%+v", v)
	}
}

// TestLinkStatsUnderLoss runs a call over a virtual network with 50 ms of delay each way
// and then 20 % loss, and checks what both sides measure.
func TestLinkStatsUnderLoss(t *testing.T) {
	defer guardTest(t)()
	n := newLossyNet(t, 50*time.Millisecond)
	defer n.stop()
	a := newSide(t, Config{Audio: true, Video: true, Net: n.a})
	b := newSide(t, Config{Audio: true, Video: true, Net: n.b})
	defer closeSides(t, a, b)
	a.other.Store(b.peer)
	b.other.Store(a.peer)
	negotiate(t, a, b)
	waitConnected(t, a, b)
	tone, _ := media.NewTone(440, 48000)
	if err := a.peer.StartSending(tone, openSource(t, media.OpenIVF, patternFile)); err != nil {
		t.Fatal(err)
	}
	if err := b.peer.StartSending(media.NewSilence(), nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "audio", b.audio, func(s media.CounterStats) bool { return s.Frames >= 100 })
	st := a.peer.Stats()
	if st.RTT < 80*time.Millisecond || st.RTT > 400*time.Millisecond {
		t.Fatalf("RTT %v over a 50 ms each way link", st.RTT)
	}
	if st.Audio.RemoteFractionLost != 0 {
		t.Fatalf("loss reported on a clean link: %+v", st.Audio)
	}
	startTarget := st.VideoTargetBitrate

	before := b.peer.Stats().Audio
	n.lossPct.Store(20)
	// Receiver reports come every second and each covers the second before it; the rate
	// controller halves its step by the loss once a report shows more than 10 %.
	deadline := time.Now().Add(testTimeout)
	for a.peer.Stats().VideoTargetBitrate >= startTarget && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(time.Second)
	after := b.peer.Stats().Audio
	lost := float64(after.PacketsLost-before.PacketsLost) / float64(after.PacketsExpected-before.PacketsExpected)
	t.Logf("b measured %.3f loss of a's audio", lost)
	if lost < 0.12 || lost > 0.28 {
		t.Fatalf("b measured %.2f loss of a's audio at 20 %%", lost)
	}
	st = a.peer.Stats()
	if st.Audio.RemoteFractionLost < 0.05 || st.Audio.RemoteFractionLost > 0.35 {
		t.Fatalf("a's audio loss as b reports it: %.2f", st.Audio.RemoteFractionLost)
	}
	if st.VideoTargetBitrate >= startTarget {
		t.Fatalf("video target did not fall under loss: %d -> %d", startTarget, st.VideoTargetBitrate)
	}

	// Blackout: nothing arrives any more, RTCP included.
	n.lossPct.Store(0)
	n.blackout.Store(true)
	time.Sleep(300 * time.Millisecond)
	last := b.peer.Stats().LastReceived
	time.Sleep(1500 * time.Millisecond)
	if got := b.peer.Stats().LastReceived; !got.Equal(last) {
		t.Fatalf("packets arrived in a blackout: %v then %v", last, got)
	}
	n.blackout.Store(false)
	waitFor(t, "audio after the blackout", b.audio, func(s media.CounterStats) bool { return s.LastPacketAt.After(last) })
}

// FuzzBandwidthSDP: descriptions and RTP payloads come from the peer; reading limits out of
// them, writing ours in, and assembling frames must never panic.
func FuzzBandwidthSDP(f *testing.F) {
	f.Add(pionOffer, uint16(1), uint32(90), []byte{0x10, 0x00, 0x9d, 0x01, 0x2a})
	f.Add("m=audio\nb=AS:x\na=rtpmap:1 opus/48000\na=fmtp:1 maxaveragebitrate=-1;;=", uint16(65535), uint32(0), []byte{})
	f.Fuzz(func(t *testing.T, sdp string, seq uint16, ts uint32, payload []byte) {
		remoteBandwidth(sdp)
		remoteBandwidth(withBandwidth(sdp, Bandwidth{MaxAudioKbps: 20, MaxVideoKbps: 300}))
		var asm vp8Assembler
		asm.push(seq, ts, true, true, payload)
		asm.push(seq+1, ts, true, false, payload)
	})
}
