package duet

import (
	"context"
	"errors"
	"fmt"
	"image"
	_ "image/jpeg" // watermark images may be JPEG
	_ "image/png"  // or PNG with alpha, the usual case
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/duet-rtc/duet/internal/yuv"
	"github.com/duet-rtc/duet/protocol"
)

// WatermarkStartPoint is the corner a watermark is anchored to: EMWaterMarkStart.
type WatermarkStartPoint int

// Watermark corners with the seed's numbers.
const (
	WatermarkLeftTop     WatermarkStartPoint = 0
	WatermarkRightTop    WatermarkStartPoint = 1
	WatermarkLeftBottom  WatermarkStartPoint = 2
	WatermarkRightBottom WatermarkStartPoint = 3
)

// WatermarkOption is EMWaterMarkOption: an image drawn onto every outgoing video frame
// the SDK encodes (custom video, media.TestPattern); file sources are sent as encoded.
type WatermarkOption struct {
	// Image is a file path or an http(s) URL of a PNG (alpha is honoured) or JPEG.
	Image string
	// MarginX and MarginY are the distances in pixels from the corner.
	MarginX, MarginY int
	// StartPoint is the corner.
	StartPoint WatermarkStartPoint
	// Enable draws the watermark. The seed defaults it to YES; Go's zero value is false,
	// so set it: a disabled watermark is loaded and checked but not drawn.
	Enable bool
}

const (
	// maxWatermarkBytes bounds a watermark download or file.
	maxWatermarkBytes = 16 << 20
	watermarkTimeout  = 10 * time.Second
)

// watermark is a loaded WatermarkOption.
type watermark struct {
	opt WatermarkOption
	wm  *yuv.Watermark
}

// AddVideoWatermark loads opt.Image and draws it onto every frame the SDK encodes from now
// on, in this call and later ones, replacing any earlier watermark: addVideoWatermark:. A
// URL is fetched with the client's HTTP client (at most 10 s, 16 MiB).
func (m *CallManager) AddVideoWatermark(opt WatermarkOption) error {
	if opt.MarginX < 0 || opt.MarginY < 0 || opt.StartPoint < WatermarkLeftTop || opt.StartPoint > WatermarkRightBottom {
		return &Error{Code: protocol.CodeUserIllegalArgument, Message: fmt.Sprintf("watermark margins %d,%d and start point %d: margins must be >= 0, start point 0-3", opt.MarginX, opt.MarginY, opt.StartPoint)}
	}
	img, err := m.loadImage(opt.Image)
	if err != nil {
		return &Error{Code: protocol.CodeUserIllegalArgument, Message: "watermark: " + err.Error()}
	}
	wm, err := yuv.NewWatermark(img)
	if err != nil {
		return &Error{Code: protocol.CodeUserIllegalArgument, Message: "watermark: " + err.Error()}
	}
	m.mu.Lock()
	m.watermark = &watermark{opt: opt, wm: wm}
	m.mu.Unlock()
	m.refreshOverlay()
	return nil
}

// ClearVideoWatermark removes the watermark: clearVideoWatermark.
func (m *CallManager) ClearVideoWatermark() {
	m.mu.Lock()
	m.watermark = nil
	m.mu.Unlock()
	m.refreshOverlay()
}

// currentOverlay returns the drawing function of the watermark, or nil. Each source gets
// its own, which keeps the placement for the frame size it last saw: frames of one size
// cost a blend and nothing else.
func (m *CallManager) currentOverlay() func(*image.YCbCr) {
	m.mu.Lock()
	w := m.watermark
	m.mu.Unlock()
	if w == nil || !w.opt.Enable {
		return nil
	}
	var (
		mu    sync.Mutex
		size  image.Point
		place yuv.Placement
	)
	return func(img *image.YCbCr) {
		mu.Lock()
		defer mu.Unlock()
		if s := img.Rect.Size(); s != size {
			size = s
			place = w.wm.Place(s.X, s.Y, w.opt.MarginX, w.opt.MarginY, yuv.Corner(w.opt.StartPoint))
		}
		w.wm.Blend(img, place)
	}
}

// refreshOverlay gives the live call's video source the current watermark.
func (m *CallManager) refreshOverlay() {
	s := m.liveSession()
	if s == nil {
		return
	}
	s.mu.Lock()
	src := s.videoSrc
	s.mu.Unlock()
	if src != nil {
		m.configureVideo(s, src)
	}
}

// loadImage reads and decodes an image from a path or an http(s) URL.
func (m *CallManager) loadImage(ref string) (image.Image, error) {
	var r io.ReadCloser
	if strings.HasPrefix(ref, "http://") || strings.HasPrefix(ref, "https://") {
		ctx, cancel := context.WithTimeout(context.Background(), watermarkTimeout)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, ref, nil)
		if err != nil {
			return nil, err
		}
		resp, err := m.c.opts.HTTPClient.Do(req)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			return nil, fmt.Errorf("GET %s: %s", ref, resp.Status)
		}
		r = resp.Body
	} else {
		if ref == "" {
			return nil, errors.New("no image given")
		}
		f, err := os.Open(ref)
		if err != nil {
			return nil, err
		}
		r = f
	}
	defer r.Close()
	img, _, err := image.Decode(io.LimitReader(r, maxWatermarkBytes))
	if err != nil {
		return nil, fmt.Errorf("decode %s: %w", ref, err)
	}
	return img, nil
}
