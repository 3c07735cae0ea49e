//go:build vpx

package main

import (
	"context"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/duet-rtc/duet/server/servertest"
)

// writeY4M writes n 4:2:0 frames of w×h in mid grey.
func writeY4M(t *testing.T, path string, w, h, n int) {
	t.Helper()
	b := []byte("YUV4MPEG2 W" + itoa(w) + " H" + itoa(h) + " F15:1 Ip A1:1 C420jpeg\n")
	frame := make([]byte, w*h*3/2)
	for i := range frame {
		frame[i] = 128
	}
	for i := 0; i < n; i++ {
		b = append(b, "FRAME\n"...)
		b = append(b, frame...)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}

// TestCallCommandVideoFlags: bob feeds a Y4M with a watermark at the right top; alice
// sends a live test pattern and saves bob's picture: it has bob's size and watermark.
func TestCallCommandVideoFlags(t *testing.T) {
	srv := servertest.Start(t)
	srv.AddUser("alice", "pw")
	srv.AddUser("bob", "pw")
	dir := t.TempDir()
	y4m := filepath.Join(dir, "in.y4m")
	writeY4M(t, y4m, 160, 120, 5)
	logo := filepath.Join(dir, "logo.png")
	img := image.NewNRGBA(image.Rect(0, 0, 32, 16))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = 255, 255, 255, 255
	}
	f, _ := os.Create(logo)
	png.Encode(f, img)
	f.Close()
	snapshot := filepath.Join(dir, "bob.png")

	events := captureEvents(t, func() {
		answerer := baseFlags(srv, "bob")
		answerer.answer, answerer.jsonOut = true, true
		answerer.media.customVideo = y4m
		answerer.media.watermark, answerer.media.watermarkPos, answerer.media.watermarkMargin = logo, "right-top", 8
		done := make(chan error, 1)
		go func() { done <- runCall(context.Background(), answerer) }()
		waitOnline(t, srv, 1)

		caller := baseFlags(srv, "alice")
		caller.to, caller.video, caller.jsonOut = "bob", true, true
		caller.duration = 4 * time.Second
		caller.media.testPattern, caller.media.resolution, caller.media.fps = true, "320x240", 15
		caller.media.maxVideoKbps = 200
		caller.media.snapshotRemote, caller.media.snapshotAfter = snapshot, time.Second
		if err := runCall(context.Background(), caller); err != nil {
			t.Errorf("caller: %v", err)
		}
		if err := <-done; err != nil {
			t.Errorf("answerer: %v", err)
		}
	})
	if t.Failed() {
		t.FailNow()
	}
	e := findEvent(events, "snapshot")
	if e == nil || e.Error != "" || e.Path != snapshot {
		t.Fatalf("snapshot event %+v in %+v", e, events)
	}
	sf, err := os.Open(snapshot)
	if err != nil {
		t.Fatal(err)
	}
	defer sf.Close()
	pic, err := png.Decode(sf)
	if err != nil || pic.Bounds().Dx() != 160 || pic.Bounds().Dy() != 120 {
		t.Fatalf("snapshot: %v %v", err, pic.Bounds())
	}
	// The watermark sits 8 pixels in from the right top: 32x16 of white on grey.
	inside := color.GrayModel.Convert(pic.At(160-8-16, 8+8)).(color.Gray)
	outside := color.GrayModel.Convert(pic.At(40, 60)).(color.Gray)
	if inside.Y < 200 || outside.Y > 160 || outside.Y < 90 {
		t.Fatalf("watermark %d, picture %d", inside.Y, outside.Y)
	}
}
