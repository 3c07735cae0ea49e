package media

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/thesyncim/gopus"
)

const (
	toneFile    = "../testdata/media/tone-440.ogg"
	patternFile = "../testdata/media/pattern-320x240.ivf"
	barsFile    = "../testdata/media/bars-160x120.ivf"
)

func TestOpenOgg(t *testing.T) {
	src, err := OpenOgg(toneFile)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if src.Codec() != CodecOpus {
		t.Fatalf("codec %q", src.Codec())
	}
	var total time.Duration
	var first []byte
	for i := 0; ; i++ {
		s, err := src.Next()
		if err != nil {
			t.Fatal(err)
		}
		if s.Duration != 20*time.Millisecond || s.Keyframe {
			t.Fatalf("sample %d: %v keyframe=%v", i, s.Duration, s.Keyframe)
		}
		if i == 0 {
			first = s.Data
		} else if &s.Data[0] == &first[0] {
			break // looped back to the start
		}
		total += s.Duration
		if i > 1000 {
			t.Fatal("source does not loop")
		}
	}
	if total < 2900*time.Millisecond || total > 3100*time.Millisecond {
		t.Fatalf("file holds %v of audio, want about 3 s", total)
	}
	if err := src.Restart(); err != nil {
		t.Fatal(err)
	}
	if s, _ := src.Next(); &s.Data[0] != &first[0] {
		t.Fatal("Restart did not rewind")
	}
}

func TestOpenIVF(t *testing.T) {
	src, err := OpenIVF(patternFile)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	keys := 0
	for i := range 90 {
		s, err := src.Next()
		if err != nil {
			t.Fatal(err)
		}
		if d := s.Duration - time.Second/30; d < -time.Millisecond || d > time.Millisecond {
			t.Fatalf("frame %d lasts %v, want 1/30 s", i, s.Duration)
		}
		if s.Keyframe != (i%30 == 0) {
			t.Fatalf("frame %d keyframe=%v", i, s.Keyframe)
		}
		if s.Keyframe {
			keys++
			if w, h, ok := VP8Size(s.Data); !ok || w != 320 || h != 240 {
				t.Fatalf("keyframe size %dx%d ok=%v", w, h, ok)
			}
		}
	}
	if s, _ := src.Next(); !s.Keyframe {
		t.Fatal("loop does not restart at the keyframe")
	}
	if keys != 3 {
		t.Fatalf("%d keyframes", keys)
	}
	src.Close()
	if _, err := src.Next(); err != ErrClosed {
		t.Fatalf("Next after Close: %v", err)
	}
}

func TestOpenRejectsBadFiles(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad")
	data, _ := os.ReadFile(patternFile)
	cases := map[string][]byte{
		"empty":     nil,
		"garbage":   []byte("this is not media at all, not even close........."),
		"truncated": data[:40],
		"huge":      append(append([]byte(nil), data[:32]...), 0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0, 0, 0, 0, 0, 1),
	}
	for name, b := range cases {
		os.WriteFile(bad, b, 0o644)
		if _, err := OpenIVF(bad); err == nil {
			t.Errorf("OpenIVF(%s) succeeded", name)
		}
		if _, err := OpenOgg(bad); err == nil {
			t.Errorf("OpenOgg(%s) succeeded", name)
		}
	}
	if _, err := OpenOgg(patternFile); err == nil {
		t.Error("OpenOgg of an IVF file succeeded")
	}
}

func TestOpusDuration(t *testing.T) {
	for _, c := range []struct {
		pkt  []byte
		want time.Duration
	}{
		{[]byte{0xf8, 0xff, 0xfe}, 20 * time.Millisecond}, // CELT FB 20 ms
		{[]byte{0x08 << 3}, 10 * time.Millisecond},        // SILK 10 ms
		{[]byte{3<<3 | 1}, 120 * time.Millisecond},        // SILK 60 ms ×2
		{[]byte{16<<3 | 3, 3}, 7500 * time.Microsecond},   // CELT 2.5 ms ×3
		{[]byte{15<<3 | 3, 6}, 120 * time.Millisecond},    // hybrid 20 ms ×6
	} {
		got, err := opusDuration(c.pkt)
		if err != nil || got != c.want {
			t.Errorf("%x: %v %v, want %v", c.pkt, got, err, c.want)
		}
	}
	for _, bad := range [][]byte{nil, {0x03}, {15<<3 | 3, 7}, {0x03, 0}} {
		if _, err := opusDuration(bad); err == nil {
			t.Errorf("%x accepted", bad)
		}
	}
}

func TestToneDecodes(t *testing.T) {
	tone, err := NewTone(440, 48000)
	if err != nil {
		t.Fatal(err)
	}
	defer tone.Close()
	dec, err := gopus.NewDecoder(gopus.DefaultDecoderConfig(48000, 1))
	if err != nil {
		t.Fatal(err)
	}
	pcm := make([]float32, 5760)
	var energy float64
	for range 50 {
		s, err := tone.Next()
		if err != nil {
			t.Fatal(err)
		}
		if s.Duration != 20*time.Millisecond {
			t.Fatalf("duration %v", s.Duration)
		}
		n, err := dec.Decode(s.Data, pcm)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range pcm[:n] {
			energy += float64(v * v)
		}
	}
	// A 0.25-amplitude sine has mean power 0.03125: over 48000 samples about 1500.
	if energy < 1000 || energy > 2000 {
		t.Fatalf("decoded energy %v, want about 1500", energy)
	}
	if _, err := NewTone(440, 44100); err == nil {
		t.Fatal("44.1 kHz accepted")
	}
	if _, err := NewTone(30000, 48000); err == nil {
		t.Fatal("tone above Nyquist accepted")
	}
}

func TestSilenceDecodes(t *testing.T) {
	dec, err := gopus.NewDecoder(gopus.DefaultDecoderConfig(48000, 2))
	if err != nil {
		t.Fatal(err)
	}
	s, _ := NewSilence().Next()
	pcm := make([]float32, 5760*2)
	n, err := dec.Decode(s.Data, pcm)
	if err != nil || n != 960 {
		t.Fatalf("decoded %d samples: %v", n, err)
	}
	for _, v := range pcm[:n*2] {
		if v != 0 {
			t.Fatalf("silence decodes to %v", v)
		}
	}
}

// packetize turns samples into RTP packets as a sender would.
func packetize(t *testing.T, src Source, frames int) []*rtp.Packet {
	t.Helper()
	var pay rtp.Payloader = &codecs.OpusPayloader{}
	clock := uint32(48000)
	if src.Codec() == CodecVP8 {
		pay, clock = &codecs.VP8Payloader{EnablePictureID: true}, 90000
	}
	p := rtp.NewPacketizer(1200, 96, 1234, pay, rtp.NewRandomSequencer(), clock)
	var out []*rtp.Packet
	for range frames {
		s, err := src.Next()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, p.Packetize(s.Data, uint32(s.Duration.Seconds()*float64(clock)))...)
	}
	return out
}

func TestFrameCounterVP8(t *testing.T) {
	src, _ := OpenIVF(patternFile)
	pkts := packetize(t, src, 31)
	c := NewFrameCounter(CodecVP8, nil)
	// Deliver the first frame's packets in reverse with a duplicate: it completes only when
	// its last missing packet arrives.
	var firstFrame []*rtp.Packet
	for _, p := range pkts {
		if p.Timestamp == pkts[0].Timestamp {
			firstFrame = append(firstFrame, p)
		}
	}
	if len(firstFrame) < 3 {
		t.Fatalf("keyframe in %d packets; the test wants at least 3", len(firstFrame))
	}
	for i := len(firstFrame) - 1; i >= 1; i-- {
		c.WriteRTP(firstFrame[i])
	}
	c.WriteRTP(firstFrame[len(firstFrame)-1])
	if s := c.Stats(); s.Frames != 0 {
		t.Fatalf("frame complete without its first packet: %+v", s)
	}
	c.WriteRTP(firstFrame[0])
	s := c.Stats()
	if s.Frames != 1 || s.Keyframes != 1 || !s.StartedWithKeyframe || s.Width != 320 || s.Height != 240 || s.FirstKeyframeAt.IsZero() {
		t.Fatalf("after the keyframe: %+v", s)
	}
	for _, p := range pkts[len(firstFrame):] {
		c.WriteRTP(p)
	}
	if s := c.Stats(); s.Frames != 31 || s.Keyframes != 2 || s.Packets != len(pkts)+1 {
		t.Fatalf("after 31 frames: %+v", s)
	}

	// A frame missing a middle packet never completes.
	c.Reset()
	src.Restart()
	pkts = packetize(t, src, 2)
	for i, p := range pkts {
		if i != 1 {
			c.WriteRTP(p)
		}
	}
	if s := c.Stats(); s.Frames != 1 || s.StartedWithKeyframe {
		t.Fatalf("with the keyframe's second packet lost: %+v", s)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if _, err := c.Wait(ctx, func(s CounterStats) bool { return s.Keyframes > 0 }); err == nil {
		t.Fatal("Wait returned without a keyframe")
	}
}

func TestFrameCounterWait(t *testing.T) {
	src := NewSilence()
	pkts := packetize(t, src, 5)
	c := NewFrameCounter(CodecOpus, nil)
	go func() {
		for _, p := range pkts {
			time.Sleep(time.Millisecond)
			c.WriteRTP(p)
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := c.Wait(ctx, func(s CounterStats) bool { return s.Frames == 5 })
	if err != nil || s.Packets != 5 || s.Bytes != 15 || s.Keyframes != 0 {
		t.Fatalf("%+v %v", s, err)
	}
}

func TestFileSinksDecode(t *testing.T) {
	if _, err := exec.LookPath("ffprobe"); err != nil {
		t.Skip("ffprobe not installed")
	}
	dir := t.TempDir()
	for _, c := range []struct {
		file  string
		open  func(string) (Source, error)
		sink  func(string) (Sink, error)
		codec string
	}{
		{patternFile, OpenIVF, CreateIVF, "vp8"},
		{toneFile, OpenOgg, CreateOgg, "opus"},
	} {
		src, err := c.open(c.file)
		if err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(dir, filepath.Base(c.file))
		sink, err := c.sink(out)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range packetize(t, src, 60) {
			if err := sink.WriteRTP(p); err != nil {
				t.Fatal(err)
			}
		}
		sink.Close()
		sink.Close()
		codec, frames := probe(t, out)
		if codec != c.codec || frames < 50 {
			t.Errorf("%s: codec %q, %d frames", out, codec, frames)
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
