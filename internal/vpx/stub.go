//go:build !vpx

package vpx

import (
	"image"
	"time"
)

// Available reports whether this build has libvpx (the vpx build tag).
const Available = false

// Encoder is a VP8 encoder; in this build it cannot be created.
type Encoder struct{}

// NewEncoder returns ErrUnavailable in a build without the vpx tag.
func NewEncoder(EncoderConfig) (*Encoder, error) { return nil, ErrUnavailable }

// Encode returns ErrUnavailable.
func (*Encoder) Encode(*image.YCbCr, time.Duration, time.Duration, bool) (Frame, error) {
	return Frame{}, ErrUnavailable
}

// SetBitrate returns ErrUnavailable.
func (*Encoder) SetBitrate(int) error { return ErrUnavailable }

// Config returns the zero config.
func (*Encoder) Config() EncoderConfig { return EncoderConfig{} }

// Close does nothing.
func (*Encoder) Close() {}

// Decoder is a VP8 decoder; in this build it cannot be created.
type Decoder struct{}

// NewDecoder returns ErrUnavailable in a build without the vpx tag.
func NewDecoder() (*Decoder, error) { return nil, ErrUnavailable }

// Decode returns ErrUnavailable.
func (*Decoder) Decode([]byte) (*image.YCbCr, error) { return nil, ErrUnavailable }

// Close does nothing.
func (*Decoder) Close() {}
