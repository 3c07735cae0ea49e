package media

import (
	"image"
	"sync"
	"time"

	"github.com/duet-rtc/duet/internal/vpx"
	"github.com/duet-rtc/duet/internal/yuv"
)

// defaultBitrate is the start bitrate of an encoding source until the SDK sets one: about
// what WebRTC starts a 640x480 camera at.
const defaultBitrate = 600_000

// vp8Pipeline turns raw pictures into VP8 frames for TestPattern and VideoInput: limits
// (size, frame rate), adaptation to the bitrate, overlay, encoding, and a copy of the last
// picture for snapshots. Settings may change from any goroutine; encode runs on the sender's.
type vp8Pipeline struct {
	mu       sync.Mutex // guards the settings
	encoding VideoEncoding
	overlay  func(*image.YCbCr)
	bps      int
	keyReq   bool

	// Owned by the goroutine that calls encode.
	enc    *vpx.Encoder
	scaled *image.YCbCr
	adapt  adapter
	lastTS time.Duration

	lastMu sync.Mutex
	last   *image.YCbCr
}

func newVP8Pipeline(bps int) *vp8Pipeline {
	return &vp8Pipeline{bps: bps, keyReq: true}
}

func (p *vp8Pipeline) setTargetBitrate(bps int) {
	if bps <= 0 {
		return
	}
	p.mu.Lock()
	p.bps = bps
	p.mu.Unlock()
}

func (p *vp8Pipeline) setEncoding(e VideoEncoding) {
	p.mu.Lock()
	p.encoding = e
	p.mu.Unlock()
}

func (p *vp8Pipeline) setOverlay(f func(*image.YCbCr)) {
	p.mu.Lock()
	p.overlay = f
	p.mu.Unlock()
}

func (p *vp8Pipeline) requestKeyframe() {
	p.mu.Lock()
	p.keyReq = true
	p.mu.Unlock()
}

// encode encodes img, which the pipeline may draw on, shown at stream time ts at up to fps
// frames per second. It returns the frame (nil Data when rate control dropped it) and how
// long it lasts, which grows when clarity-first adaptation lowers the frame rate.
func (p *vp8Pipeline) encode(img *image.YCbCr, ts time.Duration, fps int) (Sample, error) {
	p.mu.Lock()
	e, overlay, bps, key := p.encoding, p.overlay, p.bps, p.keyReq
	p.keyReq = false
	p.mu.Unlock()

	if e.MaxFrameRate > 0 && e.MaxFrameRate < fps {
		fps = e.MaxFrameRate
	}
	fps = max(fps, 1)
	w, h := yuv.FitSize(img.Rect.Dx(), img.Rect.Dy(), e.MaxWidth, e.MaxHeight)
	w, h, fps = p.adapt.update(ts, bps, w, h, fps, e.ClarityFirst)
	interval := time.Second / time.Duration(fps)
	if w != img.Rect.Dx() || h != img.Rect.Dy() {
		p.scaled = yuv.Scale(p.scaled, img, w, h)
		img = p.scaled
	}
	if overlay != nil {
		overlay(img)
	}
	if p.enc != nil && (p.enc.Config().Width != w || p.enc.Config().Height != h || p.enc.Config().FrameRate != fps) {
		p.enc.Close() // a new size needs a new encoder, and its first frame is a keyframe
		p.enc = nil
	}
	if p.enc == nil {
		enc, err := vpx.NewEncoder(vpx.EncoderConfig{
			Width: w, Height: h, BitrateKbps: max(bps/1000, 1), FrameRate: fps,
			// Frame dropping is what keeps the output under the cap when a picture is too
			// complex for the bitrate even at the coarsest quantizer.
			DropFrames: true,
		})
		if err != nil {
			return Sample{}, err
		}
		p.enc = enc
	} else if err := p.enc.SetBitrate(max(bps/1000, 1)); err != nil {
		return Sample{}, err
	}
	if ts <= p.lastTS && p.lastTS != 0 {
		ts = p.lastTS + interval // the encoder needs increasing timestamps
	}
	p.lastTS = ts
	f, err := p.enc.Encode(img, ts, interval, key)
	if err != nil {
		return Sample{}, err
	}
	p.keepLast(img)
	if f.Data == nil && key {
		p.requestKeyframe() // a dropped keyframe is still owed
	}
	return Sample{Data: f.Data, Duration: interval, Keyframe: f.Keyframe}, nil
}

// keepLast copies the encoded picture for LastPicture, into a buffer reused across frames.
func (p *vp8Pipeline) keepLast(img *image.YCbCr) {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	p.lastMu.Lock()
	defer p.lastMu.Unlock()
	p.last = yuv.Ensure(p.last, w, h)
	p.last = yuv.Scale(p.last, img, w, h) // same size: a copy
}

func (p *vp8Pipeline) lastPicture() *image.YCbCr {
	p.lastMu.Lock()
	defer p.lastMu.Unlock()
	if p.last == nil {
		return nil
	}
	return yuv.Clone(p.last)
}

func (p *vp8Pipeline) close() {
	if p.enc != nil {
		p.enc.Close()
		p.enc = nil
	}
}
