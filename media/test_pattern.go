package media

import (
	"fmt"
	"image"
	"time"

	"github.com/duet-rtc/duet/internal/vpx"
	"github.com/duet-rtc/duet/internal/yuv"
)

// TestPattern is a VP8 video Source that draws a moving test picture and encodes it live
// with libvpx: a stand-in camera of any size and frame rate whose bitrate, size and frame rate
// follow the call's options (it is a VideoEncoder). It needs the vpx build tag.
//
// The picture has a still colour gradient, a white square bouncing across it, a frame
// counter bar, and a block of noise so that every frame costs the encoder some bits.
type TestPattern struct {
	w, h, fps  int
	pipe       *vp8Pipeline
	img        *image.YCbCr
	background *image.YCbCr
	n          int
	noise      uint32
	closed     bool
}

// NewTestPattern returns a TestPattern of w×h (even, at most 4096) at fps frames per second
// (1 to 60). In a build without the vpx tag it returns ErrNoVPX.
func NewTestPattern(w, h, fps int) (*TestPattern, error) {
	if !vpx.Available {
		return nil, ErrNoVPX
	}
	if err := yuv.CheckSize(w, h); err != nil {
		return nil, fmt.Errorf("media: test pattern: %w", err)
	}
	if fps < 1 || fps > 60 {
		return nil, fmt.Errorf("media: test pattern at %d fps: want 1 to 60", fps)
	}
	// The start bitrate scales with the picture, about 0.08 bits per pixel per frame.
	bps := min(max(w*h*fps/12, 100_000), 2_500_000)
	return &TestPattern{w: w, h: h, fps: fps, pipe: newVP8Pipeline(bps), img: yuv.NewI420(w, h), noise: 1}, nil
}

// Codec returns CodecVP8.
func (t *TestPattern) Codec() string { return CodecVP8 }

// Next draws and encodes the next picture. A frame the encoder's rate control dropped comes
// back as a Sample with no Data, which the sender skips.
func (t *TestPattern) Next() (Sample, error) {
	if t.closed {
		return Sample{}, ErrClosed
	}
	t.draw()
	ts := time.Duration(t.n) * time.Second / time.Duration(t.fps)
	t.n++
	return t.pipe.encode(t.img, ts, t.fps)
}

// draw paints frame t.n into t.img.
func (t *TestPattern) draw() {
	img, n := t.img, t.n
	w, h := t.w, t.h
	if t.background == nil {
		t.background = background(w, h)
	}
	// The still background is drawn once and copied: per frame, only the moving parts cost.
	copy(img.Y, t.background.Y)
	copy(img.Cb, t.background.Cb)
	copy(img.Cr, t.background.Cr)
	// A white square bouncing across the picture.
	s := max(min(w, h)/8, 2)
	bx, by := bounce(n*4, w-s), bounce(n*3, h-s)
	for y := by; y < by+s; y++ {
		row := img.Y[y*img.YStride+bx : y*img.YStride+bx+s]
		for x := range row {
			row[x] = 235
		}
	}
	// The frame number in binary as a bar of black and white cells along the bottom.
	cell := max(w/32, 2)
	for bit := 0; bit < 16 && (bit+1)*cell <= w; bit++ {
		v := uint8(16)
		if n>>bit&1 == 1 {
			v = 235
		}
		for y := max(h-cell, 0); y < h; y++ {
			row := img.Y[y*img.YStride+bit*cell : y*img.YStride+(bit+1)*cell]
			for x := range row {
				row[x] = v
			}
		}
	}
	// Mild noise in a corner block a 256th of the picture (xorshift: cheap, deterministic):
	// enough that every frame costs bits, not so much that it dominates the bitrate.
	nw, nh := w/16, h/16
	for y := 0; y < nh; y++ {
		row := img.Y[y*img.YStride+w-nw : y*img.YStride+w]
		for x := range row {
			t.noise ^= t.noise << 13
			t.noise ^= t.noise >> 17
			t.noise ^= t.noise << 5
			row[x] = uint8(96 + t.noise%64)
		}
	}
}

// background draws a still background, as behind a person on a camera: a diagonal
// gradient in luma and chroma.
func background(w, h int) *image.YCbCr {
	img := yuv.NewI420(w, h)
	for y := 0; y < h; y++ {
		row := img.Y[y*img.YStride : y*img.YStride+w]
		for x := range row {
			row[x] = uint8(16 + (x+y)*200/(w+h))
		}
	}
	for y := 0; y < h/2; y++ {
		cb := img.Cb[y*img.CStride : y*img.CStride+w/2]
		cr := img.Cr[y*img.CStride : y*img.CStride+w/2]
		for x := range cb {
			cb[x] = uint8(64 + 2*x*128/w)
			cr[x] = uint8(64 + 2*y*128/h)
		}
	}
	return img
}

// bounce maps a position moving at a constant speed to one going back and forth in 0..span.
func bounce(p, span int) int {
	if span <= 0 {
		return 0
	}
	p %= 2 * span
	if p > span {
		return 2*span - p
	}
	return p
}

// Restart makes the next frame a keyframe. The picture keeps moving: a live camera does not
// rewind either.
func (t *TestPattern) Restart() error {
	if t.closed {
		return ErrClosed
	}
	t.pipe.requestKeyframe()
	return nil
}

// Close releases the encoder.
func (t *TestPattern) Close() error {
	if !t.closed {
		t.closed = true
		t.pipe.close()
	}
	return nil
}

// SetTargetBitrate sets the encoder's target bitrate.
func (t *TestPattern) SetTargetBitrate(bps int) { t.pipe.setTargetBitrate(bps) }

// SetEncoding sets the size and frame-rate limits.
func (t *TestPattern) SetEncoding(e VideoEncoding) { t.pipe.setEncoding(e) }

// SetOverlay sets the function that draws on each picture before encoding.
func (t *TestPattern) SetOverlay(f func(*image.YCbCr)) { t.pipe.setOverlay(f) }

// LastPicture returns a copy of the last picture encoded, or nil.
func (t *TestPattern) LastPicture() *image.YCbCr { return t.pipe.lastPicture() }
