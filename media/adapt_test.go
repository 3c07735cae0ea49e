package media

import (
	"testing"
	"time"
)

func TestAdapter(t *testing.T) {
	type step struct {
		at      time.Duration
		bps     int
		w, h, f int // expected
	}
	for _, c := range []struct {
		name    string
		clarity bool
		steps   []step
	}{
		{"enough bitrate keeps everything", false, []step{
			{0, 800_000, 640, 480, 30}, {3 * time.Second, 800_000, 640, 480, 30},
		}},
		{"smoothness first scales down one level per hold", false, []step{
			{0, 100_000, 480, 360, 30},                       // bpp 0.011 < 0.02: one step at once
			{time.Second, 100_000, 480, 360, 30},             // held
			{2 * time.Second, 100_000, 320, 240, 30},         // 0.019 at 3/4: next step
			{4 * time.Second, 100_000, 320, 240, 30},         // 0.043 at 1/2: stays
			{6 * time.Second, 300_000, 480, 360, 30},         // 3/4 would give 0.058 ≥ 0.035: up
			{6500 * time.Millisecond, 900_000, 480, 360, 30}, // held
			{8 * time.Second, 900_000, 640, 480, 30},
		}},
		{"clarity first lowers the frame rate, never the size", true, []step{
			{0, 100_000, 640, 480, 20},               // bpp 0.016 at 30 fps
			{2 * time.Second, 100_000, 640, 480, 15}, // 0.016 at 20 fps
			{4 * time.Second, 100_000, 640, 480, 15}, // 0.022 at 15 fps: enough
			{6 * time.Second, 30_000, 640, 480, 10},
			{8 * time.Second, 30_000, 640, 480, 5},
			{10 * time.Second, 30_000, 640, 480, 5},     // the floor
			{12 * time.Second, 2_000_000, 640, 480, 10}, // back up one level per hold
		}},
		{"between the thresholds nothing moves", false, []step{
			{0, 184_320 + 10_000, 640, 480, 30}, // bpp 0.021
			{5 * time.Second, 184_320 + 10_000, 640, 480, 30},
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var a adapter
			for i, s := range c.steps {
				w, h, f := a.update(s.at, s.bps, 640, 480, 30, c.clarity)
				if w != s.w || h != s.h || f != s.f {
					t.Fatalf("step %d at %v with %d bps: %dx%d@%d, want %dx%d@%d", i, s.at, s.bps, w, h, f, s.w, s.h, s.f)
				}
			}
		})
	}
}

// TestAdapterScalesDownWhenTooLittle: 150 kbit/s is too little for 640x480 at 30 fps, so
// smoothness-first settles one level down, at 480x360, and stays there.
func TestAdapterScalesDownWhenTooLittle(t *testing.T) {
	var a adapter
	for i := 0; i < 10; i++ {
		w, h, f := a.update(time.Duration(i)*time.Second, 150_000, 640, 480, 30, false)
		if w != 480 || h != 360 || f != 30 {
			t.Fatalf("at %ds: %dx%d@%d", i, w, h, f)
		}
	}
}
