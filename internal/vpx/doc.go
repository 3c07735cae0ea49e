// Package vpx is a small cgo wrapper over libvpx's VP8 encoder and decoder, the only VP8
// codec that is fast enough here (a pure-Go encoder is not available, and pion's mediadevices
// wrapper overshoots its bitrate).
//
// The cgo code builds only with the build tag vpx and Debian's libvpx-dev (1.12) and
// pkg-config installed: `go test -tags vpx ./...`. Without the tag the package still builds;
// NewEncoder and NewDecoder then return ErrUnavailable, so that everything that does not
// encode or decode video works on a machine without libvpx.
//
// An Encoder or Decoder is not safe for concurrent use; each belongs to one goroutine (a
// sender's pump, a snapshot). Frames are *image.YCbCr in 4:2:0 layout (see internal/yuv).
package vpx

import (
	"errors"
	"fmt"
	"time"
)

// ErrUnavailable is returned by NewEncoder and NewDecoder in a build without the vpx tag.
var ErrUnavailable = errors.New("built without the vpx tag: no VP8 encoder or decoder (rebuild with -tags vpx and libvpx-dev)")

// EncoderConfig sets up an Encoder.
type EncoderConfig struct {
	// Width and Height of every frame, even and at most 4096.
	Width, Height int
	// BitrateKbps is the target bitrate; SetBitrate changes it later.
	BitrateKbps int
	// FrameRate is the expected frame rate, for rate control; default 30.
	FrameRate int
	// CPUUsed trades quality for speed: -16 (fastest) to -4 in realtime mode; default -8.
	CPUUsed int
	// DropFrames lets rate control skip frames rather than exceed the bitrate or lower the
	// quality much (the "clarity first" behaviour).
	DropFrames bool
	// KeyframeInterval forces a keyframe at least every this many frames; 0 means only on
	// request (first frame, ForceKeyframe), as WebRTC senders do.
	KeyframeInterval int
}

// Frame is one encoded VP8 frame.
type Frame struct {
	Data     []byte
	Keyframe bool
}

// Timebase of the encoder's timestamps: RTP's 90 kHz video clock.
const ticksPerSecond = 90000

// ticks converts a duration to encoder timestamp ticks.
func ticks(d time.Duration) int64 { return int64(d) * ticksPerSecond / int64(time.Second) }

func (c *EncoderConfig) normalize() error {
	if c.Width <= 0 || c.Height <= 0 || c.Width > 4096 || c.Height > 4096 || c.Width%2 != 0 || c.Height%2 != 0 {
		return errors.New("vpx: frame size must be even and within 2..4096")
	}
	if c.BitrateKbps <= 0 {
		return errors.New("vpx: bitrate must be positive")
	}
	if c.FrameRate <= 0 {
		c.FrameRate = 30
	}
	if c.CPUUsed == 0 {
		c.CPUUsed = -8
	}
	c.CPUUsed = min(max(c.CPUUsed, -16), 16)
	return nil
}

// Bounds on a picture a Decoder accepts: a keyframe header may claim up to 16383x16383,
// and libvpx would allocate and clear that much for a remote party's say-so.
const (
	maxDecodeDimension = 4096
	maxDecodePixels    = 4096 * 2304
)

// checkKeyframeSize refuses a VP8 keyframe whose header claims a picture beyond the bounds
// (RFC 6386 section 9.1: a 3-byte tag, the start code 9d 01 2a, 14-bit width and height).
func checkKeyframeSize(frame []byte) error {
	if frame[0]&1 != 0 || len(frame) < 10 || frame[3] != 0x9d || frame[4] != 0x01 || frame[5] != 0x2a {
		return nil // not a keyframe, or not one libvpx will take either
	}
	w := int(frame[6]) | int(frame[7]&0x3f)<<8
	h := int(frame[8]) | int(frame[9]&0x3f)<<8
	if w == 0 || h == 0 || w > maxDecodeDimension || h > maxDecodeDimension || w*h > maxDecodePixels {
		return fmt.Errorf("vpx: keyframe of %dx%d is out of bounds (%d pixels a side, %d in all)", w, h, maxDecodeDimension, maxDecodePixels)
	}
	return nil
}
