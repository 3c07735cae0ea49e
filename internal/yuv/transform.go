package yuv

import (
	"fmt"
	"image"
)

// Rotate returns src turned clockwise by degrees (0, 90, 180 or 270), into dst when dst has
// the rotated size. For 0 it returns src itself.
func Rotate(dst, src *image.YCbCr, degrees int) (*image.YCbCr, error) {
	w, h := src.Rect.Dx(), src.Rect.Dy()
	switch degrees {
	case 0:
		return src, nil
	case 90, 270:
		dst = Ensure(dst, h, w)
	case 180:
		dst = Ensure(dst, w, h)
	default:
		return dst, fmt.Errorf("yuv: rotation %d: must be 0, 90, 180 or 270", degrees)
	}
	rotatePlane(dst.Y, dst.YStride, src.Y, src.YStride, w, h, degrees)
	cw, ch := (w+1)/2, (h+1)/2
	rotatePlane(dst.Cb, dst.CStride, src.Cb, src.CStride, cw, ch, degrees)
	rotatePlane(dst.Cr, dst.CStride, src.Cr, src.CStride, cw, ch, degrees)
	return dst, nil
}

// rotatePlane writes the w×h plane src into dst turned clockwise by degrees.
func rotatePlane(dst []byte, ds int, src []byte, ss, w, h, degrees int) {
	switch degrees {
	case 90: // source row y becomes destination column h-1-y
		for y := 0; y < h; y++ {
			row := src[y*ss : y*ss+w]
			col := h - 1 - y
			for x, v := range row {
				dst[x*ds+col] = v
			}
		}
	case 270: // source row y becomes destination column y, read bottom-up
		for y := 0; y < h; y++ {
			row := src[y*ss : y*ss+w]
			for x, v := range row {
				dst[(w-1-x)*ds+y] = v
			}
		}
	case 180:
		for y := 0; y < h; y++ {
			row := src[y*ss : y*ss+w]
			out := dst[(h-1-y)*ds : (h-1-y)*ds+w]
			for x, v := range row {
				out[w-1-x] = v
			}
		}
	}
}

// FitSize returns the largest even size with w×h's aspect ratio that fits in maxW×maxH, or
// w×h itself when it already fits or there is no limit (maxW or maxH 0). It never enlarges.
func FitSize(w, h, maxW, maxH int) (int, int) {
	if maxW <= 0 || maxH <= 0 || (w <= maxW && h <= maxH) {
		return w, h
	}
	// Scale by the tighter of the two limits, in integers to stay exact at common sizes.
	nw, nh := maxW, h*maxW/w
	if nh > maxH {
		nw, nh = w*maxH/h, maxH
	}
	nw, nh = nw&^1, nh&^1
	if nw < 2 {
		nw = 2
	}
	if nh < 2 {
		nh = 2
	}
	return nw, nh
}

// Scale resizes src into dst (bilinear, 8-bit fixed point), reusing dst when it has the size
// w×h. Scaling to the same size copies.
func Scale(dst, src *image.YCbCr, w, h int) *image.YCbCr {
	dst = Ensure(dst, w, h)
	sw, sh := src.Rect.Dx(), src.Rect.Dy()
	scalePlane(dst.Y, dst.YStride, w, h, src.Y, src.YStride, sw, sh)
	cw, ch := (w+1)/2, (h+1)/2
	scw, sch := (sw+1)/2, (sh+1)/2
	scalePlane(dst.Cb, dst.CStride, cw, ch, src.Cb, src.CStride, scw, sch)
	scalePlane(dst.Cr, dst.CStride, cw, ch, src.Cr, src.CStride, scw, sch)
	return dst
}

func scalePlane(dst []byte, ds, dw, dh int, src []byte, ss, sw, sh int) {
	if dw == sw && dh == sh {
		copyPlane(dst, ds, src, ss, dw, dh)
		return
	}
	// Source position of each destination column, in 1/256 pixels, sampled at pixel centres.
	xs := make([]int, dw)
	for x := range xs {
		p := ((2*x+1)*sw*256)/(2*dw) - 128
		xs[x] = min(max(p, 0), (sw-1)*256)
	}
	for y := 0; y < dh; y++ {
		p := ((2*y+1)*sh*256)/(2*dh) - 128
		p = min(max(p, 0), (sh-1)*256)
		y0, fy := p>>8, p&255
		y1 := min(y0+1, sh-1)
		r0 := src[y0*ss : y0*ss+sw]
		r1 := src[y1*ss : y1*ss+sw]
		out := dst[y*ds : y*ds+dw]
		for x, px := range xs {
			x0, fx := px>>8, px&255
			x1 := min(x0+1, sw-1)
			top := int(r0[x0])*(256-fx) + int(r0[x1])*fx
			bot := int(r1[x0])*(256-fx) + int(r1[x1])*fx
			out[x] = uint8((top*(256-fy) + bot*fy + 32768) >> 16)
		}
	}
}
