//go:build vpx

package vpx

/*
#cgo pkg-config: vpx
#include <stdlib.h>
#include <string.h>
#include <vpx/vpx_encoder.h>
#include <vpx/vpx_decoder.h>
#include <vpx/vp8cx.h>
#include <vpx/vp8dx.h>

// The encoder's state lives in C memory: libvpx keeps pointers into its context, which Go's
// collector must neither move nor scan.
typedef struct {
	vpx_codec_ctx_t ctx;
	vpx_codec_enc_cfg_t cfg;
} duet_enc;

// vpx_codec_control is a type-checking macro, so cgo cannot call it directly.
static int duet_enc_new(duet_enc **out, int w, int h, int kbps, int fps, int cpu, int drop, int kfmax) {
	duet_enc *e = calloc(1, sizeof(duet_enc));
	if (!e) return VPX_CODEC_MEM_ERROR;
	vpx_codec_err_t err = vpx_codec_enc_config_default(vpx_codec_vp8_cx(), &e->cfg, 0);
	if (err) { free(e); return err; }
	vpx_codec_enc_cfg_t *c = &e->cfg;
	c->g_w = w;
	c->g_h = h;
	c->g_timebase.num = 1;
	c->g_timebase.den = 90000;
	c->g_threads = 1;           // two shared cores: one thread per encoder
	c->g_lag_in_frames = 0;     // realtime: no lookahead, every frame out at once
	c->g_error_resilient = VPX_ERROR_RESILIENT_DEFAULT; // frames decode after a loss
	c->g_pass = VPX_RC_ONE_PASS;
	c->rc_end_usage = VPX_CBR;
	c->rc_target_bitrate = kbps;
	c->rc_min_quantizer = 2;    // WebRTC's VP8 settings
	c->rc_max_quantizer = 56;
	c->rc_undershoot_pct = 100;
	c->rc_overshoot_pct = 15;
	c->rc_buf_initial_sz = 500;
	c->rc_buf_optimal_sz = 600;
	c->rc_buf_sz = 1000;
	c->rc_dropframe_thresh = drop;
	c->rc_resize_allowed = 0;   // the SDK scales itself, so picture sizes stay predictable
	c->kf_mode = kfmax > 0 ? VPX_KF_AUTO : VPX_KF_DISABLED;
	c->kf_min_dist = 0;
	c->kf_max_dist = kfmax > 0 ? kfmax : 0;
	err = vpx_codec_enc_init(&e->ctx, vpx_codec_vp8_cx(), c, 0);
	if (err) { free(e); return err; }
	vpx_codec_control(&e->ctx, VP8E_SET_CPUUSED, cpu);
	vpx_codec_control(&e->ctx, VP8E_SET_STATIC_THRESHOLD, 1);
	vpx_codec_control(&e->ctx, VP8E_SET_NOISE_SENSITIVITY, 0);
	vpx_codec_control(&e->ctx, VP8E_SET_TOKEN_PARTITIONS, VP8_ONE_TOKENPARTITION);
	// Caps a keyframe at this percentage of an average frame, as WebRTC does
	// (optimal buffer 600 ms × 0.5 × fps / 10), so keyframes do not burst far over the rate.
	vpx_codec_control(&e->ctx, VP8E_SET_MAX_INTRA_BITRATE_PCT, (unsigned int)(600 * 0.5 * fps / 10));
	*out = e;
	return 0;
}

static void duet_enc_free(duet_enc *e) {
	vpx_codec_destroy(&e->ctx);
	free(e);
}

static int duet_enc_set_bitrate(duet_enc *e, int kbps) {
	e->cfg.rc_target_bitrate = kbps;
	return vpx_codec_enc_config_set(&e->ctx, &e->cfg);
}

// duet_enc_encode encodes one frame whose planes are Go memory, used only during the call
// (libvpx copies the picture into its own buffers with no lookahead). The frame's bytes go to
// out; *len is its size (0: rate control dropped the frame), or the size needed when out is
// too small (return -1).
static int duet_enc_encode(duet_enc *e, unsigned char *y, unsigned char *u, unsigned char *v,
		int ystride, int cstride, long long pts, unsigned long dur, int key,
		unsigned char *out, int cap, int *len, int *iskey) {
	vpx_image_t img;
	if (!vpx_img_wrap(&img, VPX_IMG_FMT_I420, e->cfg.g_w, e->cfg.g_h, 1, y)) return VPX_CODEC_INVALID_PARAM;
	img.planes[VPX_PLANE_Y] = y;
	img.planes[VPX_PLANE_U] = u;
	img.planes[VPX_PLANE_V] = v;
	img.stride[VPX_PLANE_Y] = ystride;
	img.stride[VPX_PLANE_U] = cstride;
	img.stride[VPX_PLANE_V] = cstride;
	vpx_codec_err_t err = vpx_codec_encode(&e->ctx, &img, pts, dur, key ? VPX_EFLAG_FORCE_KF : 0, VPX_DL_REALTIME);
	if (err) return err;
	vpx_codec_iter_t iter = NULL;
	const vpx_codec_cx_pkt_t *pkt;
	int n = 0, over = 0;
	*iskey = 0;
	while ((pkt = vpx_codec_get_cx_data(&e->ctx, &iter)) != NULL) {
		if (pkt->kind != VPX_CODEC_CX_FRAME_PKT) continue;
		int sz = (int)pkt->data.frame.sz;
		if (n + sz > cap) over = 1;
		else memcpy(out + n, pkt->data.frame.buf, sz);
		n += sz;
		if (pkt->data.frame.flags & VPX_FRAME_IS_KEY) *iskey = 1;
	}
	*len = n;
	return over ? -1 : 0;
}

static const char *duet_err(int err) {
	return vpx_codec_err_to_string((vpx_codec_err_t)err);
}

static int duet_dec_new(vpx_codec_ctx_t **out) {
	vpx_codec_ctx_t *ctx = calloc(1, sizeof(vpx_codec_ctx_t));
	if (!ctx) return VPX_CODEC_MEM_ERROR;
	vpx_codec_dec_cfg_t cfg = {0};
	cfg.threads = 1;
	vpx_codec_err_t err = vpx_codec_dec_init(ctx, vpx_codec_vp8_dx(), &cfg, 0);
	if (err) { free(ctx); return err; }
	*out = ctx;
	return 0;
}

static void duet_dec_free(vpx_codec_ctx_t *ctx) {
	vpx_codec_destroy(ctx);
	free(ctx);
}

// duet_dec_decode decodes one frame and returns the last picture it produced, or NULL.
static vpx_image_t *duet_dec_decode(vpx_codec_ctx_t *ctx, const unsigned char *data, unsigned int size, int *err) {
	*err = vpx_codec_decode(ctx, data, size, NULL, 0);
	if (*err) return NULL;
	vpx_codec_iter_t iter = NULL;
	vpx_image_t *img, *last = NULL;
	while ((img = vpx_codec_get_frame(ctx, &iter)) != NULL) last = img;
	return last;
}
*/
import "C"

import (
	"errors"
	"fmt"
	"image"
	"time"
	"unsafe"
)

// Available reports whether this build has libvpx (the vpx build tag).
const Available = true

// Encoder is a realtime VP8 encoder of one picture size.
type Encoder struct {
	c      *C.duet_enc
	cfg    EncoderConfig
	out    []byte
	frames int
}

// NewEncoder creates an encoder: one-pass CBR, no lookahead, error resilient, one thread.
func NewEncoder(cfg EncoderConfig) (*Encoder, error) {
	if err := cfg.normalize(); err != nil {
		return nil, err
	}
	drop := 0
	if cfg.DropFrames {
		drop = 30 // WebRTC's frame-dropping threshold (percent of buffer)
	}
	var c *C.duet_enc
	if rc := C.duet_enc_new(&c, C.int(cfg.Width), C.int(cfg.Height), C.int(cfg.BitrateKbps), C.int(cfg.FrameRate),
		C.int(cfg.CPUUsed), C.int(drop), C.int(cfg.KeyframeInterval)); rc != 0 {
		return nil, vpxError("encoder init", rc)
	}
	// A raw 4:2:0 frame's size is ample for one compressed frame; Encode grows it if not.
	return &Encoder{c: c, cfg: cfg, out: make([]byte, cfg.Width*cfg.Height*3/2+4096)}, nil
}

// Config returns the encoder's configuration, with the bitrate last set.
func (e *Encoder) Config() EncoderConfig { return e.cfg }

// Encode encodes img, which must have the encoder's size, shown at pts for duration. It
// returns a Frame with nil Data when rate control dropped the frame. forceKey makes it a
// keyframe (a receiver asked with PLI or FIR, or a stream starts).
func (e *Encoder) Encode(img *image.YCbCr, pts, duration time.Duration, forceKey bool) (Frame, error) {
	if e.c == nil {
		return Frame{}, errors.New("vpx: encoder closed")
	}
	if img == nil || img.SubsampleRatio != image.YCbCrSubsampleRatio420 || img.Rect.Min != (image.Point{}) ||
		img.Rect.Dx() != e.cfg.Width || img.Rect.Dy() != e.cfg.Height {
		return Frame{}, fmt.Errorf("vpx: frame is not %dx%d I420", e.cfg.Width, e.cfg.Height)
	}
	if len(img.Y) < img.YStride*e.cfg.Height || len(img.Cb) < img.CStride*(e.cfg.Height/2) || len(img.Cr) < img.CStride*(e.cfg.Height/2) {
		return Frame{}, errors.New("vpx: frame planes shorter than their strides say")
	}
	dur := ticks(duration)
	if dur <= 0 {
		dur = ticksPerSecond / int64(e.cfg.FrameRate)
	}
	key := 0
	if forceKey || e.frames == 0 {
		key = 1
	}
	for {
		var n, isKey C.int
		rc := C.duet_enc_encode(e.c,
			(*C.uchar)(unsafe.Pointer(&img.Y[0])), (*C.uchar)(unsafe.Pointer(&img.Cb[0])), (*C.uchar)(unsafe.Pointer(&img.Cr[0])),
			C.int(img.YStride), C.int(img.CStride), C.longlong(ticks(pts)), C.ulong(dur), C.int(key),
			(*C.uchar)(unsafe.Pointer(&e.out[0])), C.int(len(e.out)), &n, &isKey)
		if rc == -1 {
			// The frame was bigger than the buffer and is lost; ask for a keyframe with
			// room for it rather than send a broken reference chain.
			e.out = make([]byte, int(n)*2)
			key = 1
			continue
		}
		if rc != 0 {
			return Frame{}, vpxError("encode", rc)
		}
		e.frames++
		if n == 0 {
			return Frame{}, nil
		}
		return Frame{Data: append([]byte(nil), e.out[:n]...), Keyframe: isKey != 0}, nil
	}
}

// SetBitrate changes the target bitrate from the next frame on.
func (e *Encoder) SetBitrate(kbps int) error {
	if e.c == nil {
		return errors.New("vpx: encoder closed")
	}
	if kbps <= 0 {
		return errors.New("vpx: bitrate must be positive")
	}
	if kbps == e.cfg.BitrateKbps {
		return nil
	}
	if rc := C.duet_enc_set_bitrate(e.c, C.int(kbps)); rc != 0 {
		return vpxError("set bitrate", rc)
	}
	e.cfg.BitrateKbps = kbps
	return nil
}

// Close releases the encoder; it may be called more than once.
func (e *Encoder) Close() {
	if e.c != nil {
		C.duet_enc_free(e.c)
		e.c = nil
	}
}

// Decoder is a VP8 decoder.
type Decoder struct {
	c *C.vpx_codec_ctx_t
}

// NewDecoder creates a decoder.
func NewDecoder() (*Decoder, error) {
	var c *C.vpx_codec_ctx_t
	if rc := C.duet_dec_new(&c); rc != 0 {
		return nil, vpxError("decoder init", rc)
	}
	return &Decoder{c: c}, nil
}

// maxFrameBytes bounds a frame handed to libvpx: received data is remote input.
const maxFrameBytes = 8 << 20

// Decode decodes one frame and returns a copy of the picture it produced, or nil when it
// produced none. A corrupt frame is an error, never a crash: libvpx checks the bitstream.
func (d *Decoder) Decode(frame []byte) (*image.YCbCr, error) {
	if d.c == nil {
		return nil, errors.New("vpx: decoder closed")
	}
	if len(frame) == 0 || len(frame) > maxFrameBytes {
		return nil, fmt.Errorf("vpx: frame of %d bytes", len(frame))
	}
	if err := checkKeyframeSize(frame); err != nil {
		return nil, err
	}
	var rc C.int
	img := C.duet_dec_decode(d.c, (*C.uchar)(unsafe.Pointer(&frame[0])), C.uint(len(frame)), &rc)
	if rc != 0 {
		return nil, vpxError("decode", rc)
	}
	if img == nil {
		return nil, nil
	}
	if img.fmt != C.VPX_IMG_FMT_I420 {
		return nil, fmt.Errorf("vpx: decoder produced format %d, not I420", int(img.fmt))
	}
	w, h := int(img.d_w), int(img.d_h)
	out := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	copyPlane(out.Y, out.YStride, img.planes[0], int(img.stride[0]), w, h)
	copyPlane(out.Cb, out.CStride, img.planes[1], int(img.stride[1]), (w+1)/2, (h+1)/2)
	copyPlane(out.Cr, out.CStride, img.planes[2], int(img.stride[2]), (w+1)/2, (h+1)/2)
	return out, nil
}

func copyPlane(dst []byte, dstStride int, src *C.uchar, srcStride, w, h int) {
	plane := unsafe.Slice((*byte)(unsafe.Pointer(src)), srcStride*(h-1)+w)
	for y := 0; y < h; y++ {
		copy(dst[y*dstStride:y*dstStride+w], plane[y*srcStride:y*srcStride+w])
	}
}

// Close releases the decoder; it may be called more than once.
func (d *Decoder) Close() {
	if d.c != nil {
		C.duet_dec_free(d.c)
		d.c = nil
	}
}

func vpxError(what string, rc C.int) error {
	return fmt.Errorf("vpx: %s: %s", what, C.GoString(C.duet_err(rc)))
}
