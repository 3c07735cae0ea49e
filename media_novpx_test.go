//go:build !vpx

package duet_test

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/duet-rtc/duet"
	"github.com/duet-rtc/duet/media"
	"github.com/duet-rtc/duet/server/servertest"
)

// TestWithoutVPX: a build without the vpx tag says so clearly wherever VP8 would be
// encoded or decoded, and the call itself goes on.
func TestWithoutVPX(t *testing.T) {
	if _, err := media.NewTestPattern(320, 240, 30); !errors.Is(err, duet.ErrNoVPX) {
		t.Fatalf("NewTestPattern: %v", err)
	}
	srv := servertest.Start(t)
	alice, recA := newClient(t, srv, "alice")
	bob, recB := newClient(t, srv, "bob")
	opts := duet.DefaultCallOptions()
	opts.EnableCustomizeVideoData = true
	if err := alice.CallManager().SetCallOptions(opts); err != nil {
		t.Fatal(err)
	}
	a, _ := acceptedCall(t, alice, bob, recA, recB, duet.CallTypeVideo)
	frame := duet.VideoFrame{Format: duet.VideoFormatI420, Width: 16, Height: 16, Data: make([]byte, 16*16*3/2)}
	if err := alice.CallManager().InputVideoFrame(a.CallID(), frame, 0); !errors.Is(err, duet.ErrNoVPX) {
		t.Fatalf("InputVideoFrame: %v", err)
	}
	if err := alice.CallManager().TakeRemoteVideoPicture(ctxT(t), a.CallID(), filepath.Join(t.TempDir(), "r.png")); !errors.Is(err, duet.ErrNoVPX) {
		t.Fatalf("TakeRemoteVideoPicture: %v", err)
	}
	if err := alice.CallManager().EndCall(ctxT(t), a.CallID(), duet.EndReasonHangup); err != nil {
		t.Fatal(err)
	}
	recB.wait(t, "end")
}
