//go:build vpx

package vpx

import (
	"image"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"
)

// movingPicture draws frame n of a test scene: a diagonal gradient that scrolls, a bright
// box that moves, and a block of noise that keeps rate control honest.
func movingPicture(img *image.YCbCr, n int, rng *rand.Rand) {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	for y := 0; y < h; y++ {
		row := img.Y[y*img.YStride:]
		for x := 0; x < w; x++ {
			row[x] = uint8(16 + (x+y+4*n)%200)
		}
	}
	bx, by := (n*7)%(w-40), (n*5)%(h-40)
	for y := by; y < by+40; y++ {
		for x := bx; x < bx+40; x++ {
			img.Y[y*img.YStride+x] = 235
		}
	}
	for y := h - 32; y < h; y++ { // noise in the bottom-right corner
		for x := w - 32; x < w; x++ {
			img.Y[y*img.YStride+x] = uint8(16 + rng.IntN(220))
		}
	}
	for i := range img.Cb {
		img.Cb[i], img.Cr[i] = uint8(100+n%50), uint8(150-n%50)
	}
}

func newPicture(w, h int) *image.YCbCr {
	return image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	enc, err := NewEncoder(EncoderConfig{Width: 320, Height: 240, BitrateKbps: 800})
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	dec, err := NewDecoder()
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	rng := rand.New(rand.NewPCG(1, 2))
	img := newPicture(320, 240)
	var keys int
	for n := 0; n < 30; n++ {
		movingPicture(img, n, rng)
		f, err := enc.Encode(img, time.Duration(n)*time.Second/30, time.Second/30, n == 20)
		if err != nil {
			t.Fatal(err)
		}
		if f.Data == nil {
			continue
		}
		if f.Keyframe {
			keys++
			if f.Data[0]&1 != 0 {
				t.Fatal("keyframe flag disagrees with the bitstream")
			}
		}
		out, err := dec.Decode(f.Data)
		if err != nil || out == nil {
			t.Fatalf("frame %d: %v %v", n, out, err)
		}
		if out.Rect.Dx() != 320 || out.Rect.Dy() != 240 {
			t.Fatalf("decoded %v", out.Rect)
		}
		// The bright box survives coding: its centre is near white (unless it is under the
		// noise block, drawn last).
		bx, by := (n*7)%280+20, (n*5)%200+20
		if bx >= 320-32 && by >= 240-32 {
			continue
		}
		if v := out.Y[by*out.YStride+bx]; v < 180 {
			t.Fatalf("frame %d: box centre Y=%d", n, v)
		}
	}
	if keys != 2 {
		t.Fatalf("%d keyframes, want the first and the forced one", keys)
	}
}

func TestDecoderRefusesGarbage(t *testing.T) {
	dec, err := NewDecoder()
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	rng := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 200; i++ {
		b := make([]byte, 1+rng.IntN(2000))
		for j := range b {
			b[j] = byte(rng.Uint32())
		}
		if i%2 == 0 && len(b) > 10 { // a plausible keyframe header with garbage after it
			b[0], b[3], b[4], b[5] = b[0]&^1, 0x9d, 0x01, 0x2a
		}
		_, _ = dec.Decode(b) // errors are fine; crashes are not
	}
	if _, err := dec.Decode(nil); err == nil {
		t.Fatal("empty frame accepted")
	}
	huge := []byte{0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0xff, 0x3f, 0xff, 0x3f, 0, 0, 0, 0}
	if _, err := dec.Decode(huge); err == nil {
		t.Fatal("a 16383x16383 keyframe accepted")
	}
}

func TestEncoderRefusesWrongSize(t *testing.T) {
	enc, err := NewEncoder(EncoderConfig{Width: 64, Height: 48, BitrateKbps: 100})
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	if _, err := enc.Encode(newPicture(32, 48), 0, 0, false); err == nil {
		t.Fatal("wrong size accepted")
	}
	if _, err := NewEncoder(EncoderConfig{Width: 63, Height: 48, BitrateKbps: 100}); err == nil {
		t.Fatal("odd width accepted")
	}
	enc.Close()
	if _, err := enc.Encode(newPicture(64, 48), 0, 0, false); err == nil {
		t.Fatal("encode after Close accepted")
	}
}

// TestBitrateOnTarget encodes 10 s of 640x480@30 and checks the output rate is within 10 %
// of the target after the first second, at two targets and after SetBitrate.
func TestBitrateOnTarget(t *testing.T) {
	// Two seconds of pictures, drawn once and looped: drawing is slow under the race detector.
	rng := rand.New(rand.NewPCG(5, 6))
	pics := make([]*image.YCbCr, 60)
	for i := range pics {
		pics[i] = newPicture(640, 480)
		movingPicture(pics[i], i, rng)
	}
	for _, kbps := range []int{150, 300, 1000} {
		enc, err := NewEncoder(EncoderConfig{Width: 640, Height: 480, BitrateKbps: kbps, DropFrames: true})
		if err != nil {
			t.Fatal(err)
		}
		rate := func(from, to int) float64 {
			bytes := 0
			for n := from; n < to; n++ {
				f, err := enc.Encode(pics[n%len(pics)], time.Duration(n)*time.Second/30, time.Second/30, false)
				if err != nil {
					t.Fatal(err)
				}
				if n >= from+30 {
					bytes += len(f.Data)
				}
			}
			return float64(bytes*8) / (float64(to-from-30) / 30) / 1000
		}
		got := rate(0, 300)
		t.Logf("target %d kbps: %.0f kbps", kbps, got)
		if got > float64(kbps)*1.1 || got < float64(kbps)*0.5 {
			t.Errorf("target %d kbps: encoded at %.0f kbps", kbps, got)
		}
		if err := enc.SetBitrate(kbps / 2); err != nil {
			t.Fatal(err)
		}
		got = rate(300, 600)
		t.Logf("target %d kbps: %.0f kbps", kbps/2, got)
		if got > float64(kbps/2)*1.1 {
			t.Errorf("after SetBitrate(%d): %.0f kbps", kbps/2, got)
		}
		enc.Close()
	}
}

// cpuTime is this process's user+system CPU time: benchmarks report CPU per frame, which
// other work on a shared machine does not inflate the way it inflates wall time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkEncode640x480 encodes a moving 640x480 picture at 800 kbps and reports the CPU
// per frame and the share of one core that 30 frames a second would take.
func BenchmarkEncode640x480(b *testing.B) {
	for _, cpu := range []int{-6, -8, -12, -16} {
		b.Run("cpu"+itoa(cpu), func(b *testing.B) {
			enc, err := NewEncoder(EncoderConfig{Width: 640, Height: 480, BitrateKbps: 800, CPUUsed: cpu})
			if err != nil {
				b.Fatal(err)
			}
			defer enc.Close()
			// Frames are drawn up front: the benchmark measures the encoder, not the drawing.
			rng := rand.New(rand.NewPCG(7, 8))
			pics := make([]*image.YCbCr, 60)
			for i := range pics {
				pics[i] = newPicture(640, 480)
				movingPicture(pics[i], i, rng)
			}
			var bytes int
			n := 0
			start := cpuTime()
			for b.Loop() {
				f, err := enc.Encode(pics[n%len(pics)], time.Duration(n)*time.Second/30, time.Second/30, false)
				if err != nil {
					b.Fatal(err)
				}
				bytes += len(f.Data)
				n++
			}
			perFrame := float64(cpuTime()-start) / float64(n)
			b.ReportMetric(perFrame, "cpu-ns/frame")
			b.ReportMetric(perFrame*30/1e9*100, "%core@30fps")
			b.ReportMetric(float64(bytes*8)/(float64(n)/30)/1000, "kbps")
		})
	}
}

func itoa(n int) string {
	if n < 0 {
		return "-" + itoa(-n)
	}
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}
