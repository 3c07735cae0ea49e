package yuv

import (
	"fmt"
	"image"
)

// MaxDimension bounds the width and height of any frame the SDK handles: VP8 codes 14 bits
// of each, and a caller's bogus size must not turn into a huge allocation.
const MaxDimension = 4096

// NewI420 returns a black I420 frame of w×h (both even, as 4:2:0 needs).
func NewI420(w, h int) *image.YCbCr {
	img := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	for i := range img.Cb {
		img.Cb[i] = 128
	}
	for i := range img.Cr {
		img.Cr[i] = 128
	}
	for i := range img.Y {
		img.Y[i] = 16
	}
	return img
}

// CheckSize reports a frame size the video path cannot take: not positive, odd, or larger
// than MaxDimension.
func CheckSize(w, h int) error {
	if w <= 0 || h <= 0 || w > MaxDimension || h > MaxDimension {
		return fmt.Errorf("yuv: frame size %dx%d out of range (1 to %d)", w, h, MaxDimension)
	}
	if w%2 != 0 || h%2 != 0 {
		return fmt.Errorf("yuv: frame size %dx%d: width and height must be even for 4:2:0", w, h)
	}
	return nil
}

// IsI420 reports whether img is a 4:2:0 frame whose rectangle starts at the origin, the only
// layout the encoder and the helpers here take.
func IsI420(img *image.YCbCr) bool {
	return img != nil && img.SubsampleRatio == image.YCbCrSubsampleRatio420 && img.Rect.Min == image.Point{}
}

// Ensure returns dst if it is an I420 frame of w×h, else a new one: a per-stream buffer
// reused across frames until the size changes.
func Ensure(dst *image.YCbCr, w, h int) *image.YCbCr {
	if IsI420(dst) && dst.Rect.Dx() == w && dst.Rect.Dy() == h {
		return dst
	}
	return image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
}

// Clone returns a copy of an I420 frame with tight strides.
func Clone(src *image.YCbCr) *image.YCbCr {
	w, h := src.Rect.Dx(), src.Rect.Dy()
	dst := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	copyPlane(dst.Y, dst.YStride, src.Y, src.YStride, w, h)
	cw, ch := (w+1)/2, (h+1)/2
	copyPlane(dst.Cb, dst.CStride, src.Cb, src.CStride, cw, ch)
	copyPlane(dst.Cr, dst.CStride, src.Cr, src.CStride, cw, ch)
	return dst
}

func copyPlane(dst []byte, dstStride int, src []byte, srcStride, w, h int) {
	for y := 0; y < h; y++ {
		copy(dst[y*dstStride:y*dstStride+w], src[y*srcStride:y*srcStride+w])
	}
}
