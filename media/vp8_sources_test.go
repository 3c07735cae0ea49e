//go:build vpx

package media

import (
	"image"
	"image/color"
	"testing"
	"time"

	"github.com/duet-rtc/duet/internal/vpx"
)

func decodeAll(t *testing.T, samples []Sample) []*image.YCbCr {
	t.Helper()
	dec, err := vpx.NewDecoder()
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	var out []*image.YCbCr
	for i, s := range samples {
		if len(s.Data) == 0 {
			continue
		}
		img, err := dec.Decode(s.Data)
		if err != nil || img == nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		out = append(out, img)
	}
	return out
}

func TestTestPattern(t *testing.T) {
	tp, err := NewTestPattern(320, 240, 30)
	if err != nil {
		t.Fatal(err)
	}
	defer tp.Close()
	var _ VideoEncoder = tp
	var samples []Sample
	for i := 0; i < 40; i++ {
		if i == 20 {
			if err := tp.Restart(); err != nil {
				t.Fatal(err)
			}
		}
		s, err := tp.Next()
		if err != nil {
			t.Fatal(err)
		}
		if s.Duration != time.Second/30 {
			t.Fatalf("duration %v", s.Duration)
		}
		if (i == 0 || i == 20) && !s.Keyframe {
			t.Fatalf("frame %d is not a keyframe", i)
		}
		if s.Keyframe {
			if w, h, ok := VP8Size(s.Data); !ok || w != 320 || h != 240 {
				t.Fatalf("keyframe size %dx%d", w, h)
			}
		}
		samples = append(samples, s)
	}
	pics := decodeAll(t, samples)
	if len(pics) < 38 {
		t.Fatalf("%d of 40 frames decoded", len(pics))
	}
	if last := tp.LastPicture(); last == nil || last.Rect.Dx() != 320 {
		t.Fatalf("LastPicture %v", last)
	}

	// Limits: at most 160x120 and 15 fps.
	tp.SetEncoding(VideoEncoding{MaxWidth: 160, MaxHeight: 120, MaxFrameRate: 15})
	s, err := tp.Next()
	if err != nil || !s.Keyframe || s.Duration != time.Second/15 {
		t.Fatalf("after SetEncoding: %v key=%v duration=%v", err, s.Keyframe, s.Duration)
	}
	if w, h, _ := VP8Size(s.Data); w != 160 || h != 120 {
		t.Fatalf("limited size %dx%d", w, h)
	}
	tp.Close()
	if _, err := tp.Next(); err != ErrClosed {
		t.Fatalf("Next after Close: %v", err)
	}
	if _, err := NewTestPattern(321, 240, 30); err == nil {
		t.Fatal("odd width accepted")
	}
	if _, err := NewTestPattern(320, 240, 0); err == nil {
		t.Fatal("0 fps accepted")
	}
}

// solidFrame returns a w×h RGBA frame of one colour.
func solidFrame(w, h int, c color.NRGBA, ts time.Duration) RawFrame {
	data := make([]byte, 4*w*h)
	for i := 0; i < len(data); i += 4 {
		data[i], data[i+1], data[i+2], data[i+3] = c.R, c.G, c.B, 255
	}
	return RawFrame{Format: PixelRGBA, Width: w, Height: h, Data: data, Timestamp: ts}
}

func TestVideoInput(t *testing.T) {
	in, err := NewVideoInput(30)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	var _ Live = in
	// Nothing written: an empty sample.
	if s, err := in.Next(); err != nil || s.Data != nil || s.Duration <= 0 {
		t.Fatalf("empty Next: %+v %v", s, err)
	}
	// An overlay paints the top-left 16x16 white on every frame.
	in.SetOverlay(func(img *image.YCbCr) {
		for y := 0; y < 16; y++ {
			for x := 0; x < 16; x++ {
				img.Y[y*img.YStride+x] = 235
			}
		}
	})
	// A 64x32 grey frame turned a quarter clockwise arrives as 32x64.
	if err := in.Write(solidFrame(64, 32, color.NRGBA{128, 128, 128, 255}, 10*time.Millisecond), 90); err != nil {
		t.Fatal(err)
	}
	select {
	case <-in.Ready():
	default:
		t.Fatal("Ready not signalled")
	}
	s, err := in.Next()
	if err != nil || !s.Keyframe {
		t.Fatalf("first frame: %v key=%v", err, s.Keyframe)
	}
	if w, h, _ := VP8Size(s.Data); w != 32 || h != 64 {
		t.Fatalf("rotated size %dx%d", w, h)
	}
	pic := decodeAll(t, []Sample{s})[0]
	if y := pic.Y[4*pic.YStride+4]; y < 200 {
		t.Fatalf("overlay missing: Y=%d", y)
	}
	if y := pic.Y[40*pic.YStride+20]; y < 110 || y > 140 {
		t.Fatalf("grey picture: Y=%d", y)
	}
	// Frames written faster than they are sent replace each other.
	for i := 0; i < 3; i++ {
		f := solidFrame(64, 32, color.NRGBA{0, 0, 0, 255}, time.Duration(20+i)*time.Millisecond)
		f.Format = PixelNV12
		f.Data = make([]byte, 64*32*3/2)
		if err := in.Write(f, 0); err != nil {
			t.Fatal(err)
		}
	}
	if in.Dropped() != 2 {
		t.Fatalf("dropped %d, want 2", in.Dropped())
	}
	// The unrotated frame has another size: a new encoder, so a keyframe.
	if s, err := in.Next(); err != nil || len(s.Data) == 0 || !s.Keyframe {
		t.Fatalf("second frame: %v %d bytes key=%v", err, len(s.Data), s.Keyframe)
	}
	if last := in.LastPicture(); last == nil || last.Rect.Dx() != 64 || last.Rect.Dy() != 32 {
		t.Fatalf("LastPicture %v", last)
	}
	// Malformed input is refused.
	if err := in.Write(RawFrame{Format: PixelI420, Width: 64, Height: 32, Data: make([]byte, 10)}, 0); err == nil {
		t.Fatal("short frame accepted")
	}
	if err := in.Write(solidFrame(64, 32, color.NRGBA{}, 0), 45); err == nil {
		t.Fatal("45 degrees accepted")
	}
	in.Close()
	if err := in.Write(solidFrame(64, 32, color.NRGBA{}, 0), 0); err != ErrClosed {
		t.Fatalf("write after close: %v", err)
	}
}

// BenchmarkTestPattern640x480 is the whole live-video path per frame at 640x480 and
// 800 kbit/s: drawing, encoding (cpu_used -8), and the copy kept for snapshots.
func BenchmarkTestPattern640x480(b *testing.B) {
	tp, err := NewTestPattern(640, 480, 30)
	if err != nil {
		b.Fatal(err)
	}
	defer tp.Close()
	tp.SetTargetBitrate(800_000)
	start, n := cpuTime(), 0
	for b.Loop() {
		if _, err := tp.Next(); err != nil {
			b.Fatal(err)
		}
		n++
	}
	perFrame := float64(cpuTime()-start) / float64(n)
	b.ReportMetric(perFrame, "cpu-ns/frame")
	b.ReportMetric(perFrame*30/1e9*100, "%core@30fps")
}

// BenchmarkVideoInputNV12 is the custom-video path per 640x480 NV12 frame: conversion on
// the application's goroutine, then encoding, as InputVideoFrame and the sender run it.
func BenchmarkVideoInputNV12(b *testing.B) {
	in, err := NewVideoInput(30)
	if err != nil {
		b.Fatal(err)
	}
	defer in.Close()
	in.SetTargetBitrate(800_000)
	data := make([]byte, 640*480*3/2)
	for i := range data {
		data[i] = byte(i * 7)
	}
	start, n := cpuTime(), 0
	for b.Loop() {
		data[n%len(data)]++ // a changing picture
		if err := in.Write(RawFrame{Format: PixelNV12, Width: 640, Height: 480, Data: data, Timestamp: time.Duration(n+1) * time.Second / 30}, 0); err != nil {
			b.Fatal(err)
		}
		if _, err := in.Next(); err != nil {
			b.Fatal(err)
		}
		n++
	}
	perFrame := float64(cpuTime()-start) / float64(n)
	b.ReportMetric(perFrame, "cpu-ns/frame")
	b.ReportMetric(perFrame*30/1e9*100, "%core@30fps")
}

// TestClarityFirst: at a bitrate far too low for 320x240 at 30 fps, clarity-first keeps
// the size and lowers the frame rate; smoothness-first keeps the rate and shrinks the picture.
func TestClarityFirst(t *testing.T) {
	for _, clarity := range []bool{true, false} {
		tp, err := NewTestPattern(320, 240, 30)
		if err != nil {
			t.Fatal(err)
		}
		tp.SetEncoding(VideoEncoding{ClarityFirst: clarity})
		tp.SetTargetBitrate(25_000)
		var last Sample
		w, h := 0, 0
		for i := 0; i < 90; i++ { // three seconds of stream time: two adaptation steps
			s, err := tp.Next()
			if err != nil {
				t.Fatal(err)
			}
			if s.Keyframe {
				w, h, _ = VP8Size(s.Data)
			}
			last = s
		}
		tp.Close()
		if clarity && (w != 320 || h != 240 || last.Duration <= time.Second/30) {
			t.Errorf("clarity first: %dx%d, frame %v", w, h, last.Duration)
		}
		if !clarity && (w >= 320 || last.Duration != time.Second/30) {
			t.Errorf("smoothness first: %dx%d, frame %v", w, h, last.Duration)
		}
	}
}
