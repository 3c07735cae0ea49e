package yuv

import (
	"errors"
	"fmt"
	"image"
	"image/color"
)

// Corner is where a watermark is anchored: the seed's EMWaterMarkStart values.
type Corner int

// Corners with the seed's numbers.
const (
	LeftTop     Corner = 0
	RightTop    Corner = 1
	LeftBottom  Corner = 2
	RightBottom Corner = 3
)

// MaxWatermarkPixels bounds a watermark image: it is blended into every frame, and a huge
// image would cost a frame's time budget and memory for nothing.
const MaxWatermarkPixels = 1920 * 1080

// Watermark is an image prepared for blending into I420 frames: its colour converted to
// Y, U and V once, premultiplied by alpha, so that blending is one multiply-add per sample.
// A Watermark is immutable and safe for concurrent use.
type Watermark struct {
	w, h int // even: padded with transparent pixels
	// Luma samples: premultiplied value and 256-alpha, both scaled to 0..256.
	yPre, yInv []uint16
	// Chroma samples (w/2 × h/2): the 2×2 average of the pixels' colour and alpha.
	cbPre, crPre, cInv []uint16
}

// NewWatermark prepares img (PNG with alpha, or any decoded image).
func NewWatermark(img image.Image) (*Watermark, error) {
	bounds := img.Bounds()
	iw, ih := bounds.Dx(), bounds.Dy()
	if iw <= 0 || ih <= 0 {
		return nil, errors.New("yuv: empty watermark image")
	}
	if iw*ih > MaxWatermarkPixels || iw > MaxDimension || ih > MaxDimension {
		return nil, fmt.Errorf("yuv: watermark of %dx%d is too large (at most %d pixels)", iw, ih, MaxWatermarkPixels)
	}
	w, h := (iw+1)&^1, (ih+1)&^1
	wm := &Watermark{
		w: w, h: h,
		yPre: make([]uint16, w*h), yInv: make([]uint16, w*h),
		cbPre: make([]uint16, w*h/4), crPre: make([]uint16, w*h/4), cInv: make([]uint16, w*h/4),
	}
	// Straight (non-premultiplied) 8-bit RGBA of each pixel; padding stays transparent.
	px := func(x, y int) (r, g, b, a int32) {
		if x >= iw || y >= ih {
			return 0, 0, 0, 0
		}
		c := color.NRGBAModel.Convert(img.At(bounds.Min.X+x, bounds.Min.Y+y)).(color.NRGBA)
		return int32(c.R), int32(c.G), int32(c.B), int32(c.A)
	}
	alpha := func(a int32) int32 { return a + a>>7 } // 0..255 to 0..256
	for y := 0; y < h; y += 2 {
		for x := 0; x < w; x += 2 {
			var sa, sr, sg, sb int32 // alpha-weighted sums over the 2×2 block
			for _, d := range [4][2]int{{0, 0}, {1, 0}, {0, 1}, {1, 1}} {
				r, g, bl, a := px(x+d[0], y+d[1])
				a = alpha(a)
				i := (y+d[1])*w + x + d[0]
				wm.yPre[i] = uint16(int32(luma(r, g, bl)) * a)
				wm.yInv[i] = uint16(256 - a)
				sa += a
				sr, sg, sb = sr+r*a, sg+g*a, sb+bl*a
			}
			ci := (y/2)*(w/2) + x/2
			ca := (sa + 2) / 4
			wm.cInv[ci] = uint16(256 - ca)
			if sa == 0 {
				continue
			}
			r, g, bl := sr/sa, sg/sa, sb/sa
			cb := (-38*r - 74*g + 112*bl + 128 + 32768) >> 8
			cr := (112*r - 94*g - 18*bl + 128 + 32768) >> 8
			wm.cbPre[ci] = uint16(cb * ca)
			wm.crPre[ci] = uint16(cr * ca)
		}
	}
	return wm, nil
}

// Size returns the watermark's size in pixels (rounded up to even).
func (wm *Watermark) Size() (int, int) { return wm.w, wm.h }

// Placement is where a watermark lands in frames of one size, computed once per size.
type Placement struct {
	X, Y          int // top-left corner in the frame, even
	SrcX, SrcY    int // first watermark pixel drawn (non-zero when clipped at the left/top)
	Width, Height int // the part drawn; 0 when the watermark is entirely outside
}

// Place computes where the watermark goes in a w×h frame with margins from the corner. A
// watermark that does not fit is clipped at the frame's edges.
func (wm *Watermark) Place(w, h, marginX, marginY int, corner Corner) Placement {
	x, y := marginX, marginY
	switch corner {
	case RightTop:
		x = w - marginX - wm.w
	case LeftBottom:
		y = h - marginY - wm.h
	case RightBottom:
		x, y = w-marginX-wm.w, h-marginY-wm.h
	}
	x, y = x&^1, y&^1 // chroma samples cover 2×2 pixels: keep them aligned
	p := Placement{X: x, Y: y, Width: wm.w, Height: wm.h}
	if p.X < 0 {
		p.SrcX, p.Width, p.X = -p.X, p.Width+p.X, 0
	}
	if p.Y < 0 {
		p.SrcY, p.Height, p.Y = -p.Y, p.Height+p.Y, 0
	}
	p.Width = min(p.Width, w-p.X)
	p.Height = min(p.Height, h-p.Y)
	if p.Width <= 0 || p.Height <= 0 {
		return Placement{}
	}
	return p
}

// Blend draws the watermark into dst at p (from Place for dst's size).
func (wm *Watermark) Blend(dst *image.YCbCr, p Placement) {
	if p.Width <= 0 || p.Height <= 0 {
		return
	}
	for y := 0; y < p.Height; y++ {
		out := dst.Y[(p.Y+y)*dst.YStride+p.X:][:p.Width]
		i := (p.SrcY+y)*wm.w + p.SrcX
		pre, inv := wm.yPre[i:i+p.Width], wm.yInv[i:i+p.Width]
		for x := range out {
			out[x] = uint8((uint32(out[x])*uint32(inv[x]) + uint32(pre[x]) + 128) >> 8)
		}
	}
	cw, ch := p.Width/2, p.Height/2
	for y := 0; y < ch; y++ {
		off := (p.Y/2+y)*dst.CStride + p.X/2
		cb, cr := dst.Cb[off:][:cw], dst.Cr[off:][:cw]
		i := (p.SrcY/2+y)*(wm.w/2) + p.SrcX/2
		pb, pr, inv := wm.cbPre[i:i+cw], wm.crPre[i:i+cw], wm.cInv[i:i+cw]
		for x := range cb {
			cb[x] = uint8((uint32(cb[x])*uint32(inv[x]) + uint32(pb[x]) + 128) >> 8)
			cr[x] = uint8((uint32(cr[x])*uint32(inv[x]) + uint32(pr[x]) + 128) >> 8)
		}
	}
}
