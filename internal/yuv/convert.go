package yuv

import (
	"fmt"
	"image"
)

// Input formats of raw frames an application hands the SDK.
const (
	FormatI420 = iota // Y plane, then U, then V (each chroma plane quarter size)
	FormatNV12        // Y plane, then one plane of interleaved U and V
	FormatRGBA        // 4 bytes per pixel: R, G, B, A (alpha ignored)
)

// Convert copies a raw frame of format (FormatI420, FormatNV12 or FormatRGBA) into dst as
// I420, reusing dst when it has the right size. stride is the length of a row of the first
// plane in bytes (0: tightly packed); chroma rows are half as long for I420 and as long for
// NV12. A buffer too short for the size and strides is an error, never a panic.
func Convert(dst *image.YCbCr, format, w, h, stride int, data []byte) (*image.YCbCr, error) {
	if err := CheckSize(w, h); err != nil {
		return dst, err
	}
	cw, ch := w/2, h/2
	switch format {
	case FormatI420:
		if stride == 0 {
			stride = w
		}
		cs := (stride + 1) / 2
		if stride < w || len(data) < stride*h+2*cs*ch {
			return dst, fmt.Errorf("yuv: I420 %dx%d stride %d needs %d bytes, have %d", w, h, stride, stride*h+2*cs*ch, len(data))
		}
		dst = Ensure(dst, w, h)
		copyPlane(dst.Y, dst.YStride, data, stride, w, h)
		u := data[stride*h:]
		copyPlane(dst.Cb, dst.CStride, u, cs, cw, ch)
		copyPlane(dst.Cr, dst.CStride, u[cs*ch:], cs, cw, ch)
		return dst, nil
	case FormatNV12:
		if stride == 0 {
			stride = w
		}
		if stride < w || len(data) < stride*h+stride*ch {
			return dst, fmt.Errorf("yuv: NV12 %dx%d stride %d needs %d bytes, have %d", w, h, stride, stride*h+stride*ch, len(data))
		}
		dst = Ensure(dst, w, h)
		copyPlane(dst.Y, dst.YStride, data, stride, w, h)
		uv := data[stride*h:]
		for y := 0; y < ch; y++ {
			row := uv[y*stride : y*stride+2*cw]
			cb := dst.Cb[y*dst.CStride : y*dst.CStride+cw]
			cr := dst.Cr[y*dst.CStride : y*dst.CStride+cw]
			for x := range cb {
				cb[x] = row[2*x]
				cr[x] = row[2*x+1]
			}
		}
		return dst, nil
	case FormatRGBA:
		if stride == 0 {
			stride = 4 * w
		}
		if stride < 4*w || len(data) < stride*(h-1)+4*w {
			return dst, fmt.Errorf("yuv: RGBA %dx%d stride %d needs %d bytes, have %d", w, h, stride, stride*(h-1)+4*w, len(data))
		}
		dst = Ensure(dst, w, h)
		rgbaToI420(dst, data, w, h, stride)
		return dst, nil
	}
	return dst, fmt.Errorf("yuv: unknown pixel format %d", format)
}

// rgbaToI420 converts with the BT.601 limited-range integer matrix WebRTC and libyuv use:
// Y from every pixel, U and V from the average of each 2×2 block.
func rgbaToI420(dst *image.YCbCr, src []byte, w, h, stride int) {
	for y := 0; y < h; y += 2 {
		r0 := src[y*stride : y*stride+4*w]
		r1 := src[(y+1)*stride : (y+1)*stride+4*w]
		y0 := dst.Y[y*dst.YStride : y*dst.YStride+w]
		y1 := dst.Y[(y+1)*dst.YStride : (y+1)*dst.YStride+w]
		cb := dst.Cb[(y/2)*dst.CStride : (y/2)*dst.CStride+w/2]
		cr := dst.Cr[(y/2)*dst.CStride : (y/2)*dst.CStride+w/2]
		for x := 0; x < w; x += 2 {
			i := 4 * x
			ra, ga, ba := int32(r0[i]), int32(r0[i+1]), int32(r0[i+2])
			rb, gb, bb := int32(r0[i+4]), int32(r0[i+5]), int32(r0[i+6])
			rc, gc, bc := int32(r1[i]), int32(r1[i+1]), int32(r1[i+2])
			rd, gd, bd := int32(r1[i+4]), int32(r1[i+5]), int32(r1[i+6])
			y0[x] = luma(ra, ga, ba)
			y0[x+1] = luma(rb, gb, bb)
			y1[x] = luma(rc, gc, bc)
			y1[x+1] = luma(rd, gd, bd)
			r, g, b := (ra+rb+rc+rd+2)>>2, (ga+gb+gc+gd+2)>>2, (ba+bb+bc+bd+2)>>2
			cb[x/2] = uint8((-38*r - 74*g + 112*b + 128 + 32768) >> 8)
			cr[x/2] = uint8((112*r - 94*g - 18*b + 128 + 32768) >> 8)
		}
	}
}

func luma(r, g, b int32) uint8 { return uint8((66*r + 129*g + 25*b + 128 + 4096) >> 8) }
