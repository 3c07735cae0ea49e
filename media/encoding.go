package media

import (
	"image"

	"github.com/duet-rtc/duet/internal/vpx"
)

// ErrNoVPX is returned by the parts of this package that encode or decode VP8 (TestPattern,
// VideoInput) in a build without the vpx tag. Build with `-tags vpx` and libvpx-dev.
var ErrNoVPX = vpx.ErrUnavailable

// BitrateTarget is implemented by sources that encode on the fly (Tone, PCMInput,
// TestPattern, VideoInput): the SDK sets the bitrate the call allows through it and lowers it
// on a lossy link. SetTargetBitrate is safe to call from any goroutine, concurrently with
// Next; it takes effect from the next frame on.
type BitrateTarget interface {
	SetTargetBitrate(bitsPerSecond int)
}

// VideoEncoding is what the SDK asks of a source that encodes raw pictures itself.
type VideoEncoding struct {
	// MaxWidth and MaxHeight bound the encoded picture: larger pictures are scaled down to
	// fit, keeping their aspect ratio (0: no limit).
	MaxWidth, MaxHeight int
	// MaxFrameRate caps the frames per second; 0 leaves the source's rate.
	MaxFrameRate int
	// ClarityFirst keeps the picture size when the bitrate is too low for it and lowers the
	// frame rate instead; otherwise the picture is scaled down and the frame rate kept.
	ClarityFirst bool
}

// VideoEncoder is implemented by video sources that encode raw pictures with the SDK's VP8
// encoder (TestPattern, VideoInput). All its methods are safe to call from any goroutine,
// concurrently with Next.
type VideoEncoder interface {
	Source
	BitrateTarget
	// SetEncoding changes the size and frame-rate limits from the next frame on.
	SetEncoding(VideoEncoding)
	// SetOverlay sets a function that draws on every picture just before it is encoded (a
	// watermark), at the encoded size; nil removes it. It runs on the sending goroutine.
	SetOverlay(func(*image.YCbCr))
	// LastPicture returns a copy of the last picture encoded, overlay included, or nil
	// before the first.
	LastPicture() *image.YCbCr
}
