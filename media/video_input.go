package media

import (
	"fmt"
	"image"
	"sync"
	"time"

	"github.com/duet-rtc/duet/internal/vpx"
	"github.com/duet-rtc/duet/internal/yuv"
)

// PixelFormat is the layout of a RawFrame's Data.
type PixelFormat int

// Pixel formats an application can feed.
const (
	// PixelI420 is planar 4:2:0: the Y plane, then U, then V.
	PixelI420 PixelFormat = yuv.FormatI420
	// PixelNV12 is the Y plane, then one plane of interleaved U and V (camera pipelines).
	PixelNV12 PixelFormat = yuv.FormatNV12
	// PixelRGBA is 4 bytes per pixel, R G B A; alpha is ignored.
	PixelRGBA PixelFormat = yuv.FormatRGBA
)

// RawFrame is one uncompressed picture an application hands the SDK.
type RawFrame struct {
	// Format of Data.
	Format PixelFormat
	// Width and Height in pixels, both even.
	Width, Height int
	// Stride is the length in bytes of a row of the first plane (the Y plane, or the RGBA
	// rows); 0 means tightly packed. I420 chroma rows are half of it, NV12's as long.
	Stride int
	// Data holds the planes one after another.
	Data []byte
	// Timestamp is the capture time, increasing from frame to frame; 0 means "now".
	Timestamp time.Duration
}

// videoInputPoll is how long the sender waits for a frame before checking again when no
// Ready signal wakes it first.
const videoInputPoll = 50 * time.Millisecond

// VideoInput is a VP8 video Source fed with raw pictures by the application (the seed's
// custom video data): Write converts each frame to I420 and keeps the newest; the sender
// encodes it when its turn comes. Frames that arrive faster than the frame rate allows are
// replaced by newer ones rather than queued, so latency never builds up.
//
// Write is safe to call from any goroutine. It needs the vpx build tag.
type VideoInput struct {
	fps   int
	pipe  *vp8Pipeline
	ready chan struct{}
	start time.Time

	mu       sync.Mutex
	pending  *image.YCbCr // newest frame not yet encoded
	pendTS   time.Duration
	spare    *image.YCbCr // buffers reused across frames
	rotSpare *image.YCbCr
	closed   bool
	dropped  int
}

// NewVideoInput returns a VideoInput that sends at most fps frames per second (1 to 60). In a
// build without the vpx tag it returns ErrNoVPX.
func NewVideoInput(fps int) (*VideoInput, error) {
	if !vpx.Available {
		return nil, ErrNoVPX
	}
	if fps < 1 || fps > 60 {
		return nil, fmt.Errorf("media: video input at %d fps: want 1 to 60", fps)
	}
	return &VideoInput{fps: fps, pipe: newVP8Pipeline(defaultBitrate), ready: make(chan struct{}, 1), start: time.Now()}, nil
}

// Write converts f to I420, turns it clockwise by rotation degrees (0, 90, 180 or 270), and
// makes it the next picture to send. A malformed frame is an error and changes nothing.
func (v *VideoInput) Write(f RawFrame, rotation int) error {
	if rotation != 0 && rotation != 90 && rotation != 180 && rotation != 270 {
		return fmt.Errorf("media: rotation %d: must be 0, 90, 180 or 270", rotation)
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.closed {
		return ErrClosed
	}
	buf, err := yuv.Convert(v.spare, int(f.Format), f.Width, f.Height, f.Stride, f.Data)
	if err != nil {
		return fmt.Errorf("media: %w", err)
	}
	if rotation != 0 {
		rot, err := yuv.Rotate(v.rotSpare, buf, rotation)
		if err != nil {
			return fmt.Errorf("media: %w", err)
		}
		v.rotSpare, buf = buf, rot
	}
	if v.pending != nil {
		v.dropped++
	}
	v.spare, v.pending = v.pending, buf
	ts := f.Timestamp
	if ts <= 0 {
		ts = time.Since(v.start)
	}
	v.pendTS = ts
	select {
	case v.ready <- struct{}{}:
	default:
	}
	return nil
}

// Ready receives a value when a frame is waiting: the sender's cue to call Next.
func (v *VideoInput) Ready() <-chan struct{} { return v.ready }

// Codec returns CodecVP8.
func (v *VideoInput) Codec() string { return CodecVP8 }

// Next encodes the newest frame. With no new frame it returns a Sample without Data (the
// sender sends nothing and waits for Ready).
func (v *VideoInput) Next() (Sample, error) {
	v.mu.Lock()
	if v.closed {
		v.mu.Unlock()
		return Sample{}, ErrClosed
	}
	img, ts := v.pending, v.pendTS
	v.pending = nil
	v.mu.Unlock()
	if img == nil {
		return Sample{Duration: videoInputPoll}, nil
	}
	s, err := v.pipe.encode(img, ts, v.fps)
	v.mu.Lock()
	if v.spare == nil {
		v.spare = img // encoded: the buffer is free again
	}
	v.mu.Unlock()
	return s, err
}

// Restart makes the next frame a keyframe.
func (v *VideoInput) Restart() error {
	v.mu.Lock()
	closed := v.closed
	v.mu.Unlock()
	if closed {
		return ErrClosed
	}
	v.pipe.requestKeyframe()
	return nil
}

// Close releases the encoder; Write then returns ErrClosed. Close must not run concurrently
// with Next (the sender closes its source after it stopped using it).
func (v *VideoInput) Close() error {
	v.mu.Lock()
	if v.closed {
		v.mu.Unlock()
		return nil
	}
	v.closed = true
	v.pending, v.spare, v.rotSpare = nil, nil, nil
	v.mu.Unlock()
	v.pipe.close()
	return nil
}

// Dropped returns how many written frames were replaced by newer ones before being sent.
func (v *VideoInput) Dropped() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.dropped
}

// SetTargetBitrate sets the encoder's target bitrate.
func (v *VideoInput) SetTargetBitrate(bps int) { v.pipe.setTargetBitrate(bps) }

// SetEncoding sets the size and frame-rate limits.
func (v *VideoInput) SetEncoding(e VideoEncoding) { v.pipe.setEncoding(e) }

// SetOverlay sets the function that draws on each picture before encoding.
func (v *VideoInput) SetOverlay(f func(*image.YCbCr)) { v.pipe.setOverlay(f) }

// LastPicture returns a copy of the last picture encoded, or nil.
func (v *VideoInput) LastPicture() *image.YCbCr { return v.pipe.lastPicture() }
