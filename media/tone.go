package media

import (
	"fmt"
	"math"
	"sync/atomic"
	"time"

	"github.com/thesyncim/gopus"
)

const (
	toneFrame     = 20 * time.Millisecond
	toneAmplitude = 0.25 // -12 dBFS: clearly audible, never clipping
	toneBitrate   = 32000
)

// Tone is a Source of a sine tone encoded to Opus on the fly (pure Go, mono, 20 ms frames):
// a stand-in microphone whose output can be recognised at the far end.
type Tone struct {
	enc        *gopus.Encoder
	freq       float64
	sampleRate int
	phase      float64
	pcm        []float32
	buf        []byte
	bps        atomic.Int64 // wanted bitrate, set from any goroutine
	setBPS     int          // the encoder's bitrate, on the sending goroutine
	closed     bool
}

// NewTone returns a Tone of freqHz sampled at sampleRate, one of the rates Opus encodes:
// 8000, 12000, 16000, 24000 or 48000.
func NewTone(freqHz float64, sampleRate int) (*Tone, error) {
	if freqHz <= 0 || freqHz >= float64(sampleRate)/2 {
		return nil, fmt.Errorf("media: tone of %v Hz cannot be sampled at %d Hz", freqHz, sampleRate)
	}
	enc, err := gopus.NewEncoder(gopus.EncoderConfig{SampleRate: sampleRate, Channels: 1, Application: gopus.ApplicationAudio})
	if err != nil {
		return nil, fmt.Errorf("media: opus encoder at %d Hz: %w", sampleRate, err)
	}
	if err := enc.SetBitrate(toneBitrate); err != nil {
		return nil, fmt.Errorf("media: opus bitrate: %w", err)
	}
	t := &Tone{
		enc:        enc,
		freq:       freqHz,
		sampleRate: sampleRate,
		pcm:        make([]float32, sampleRate*int(toneFrame)/int(time.Second)),
		buf:        make([]byte, 4000), // the largest Opus packet, as libopus documents
		setBPS:     toneBitrate,
	}
	t.bps.Store(toneBitrate)
	return t, nil
}

// SetTargetBitrate sets the Opus bitrate (default 32 kbit/s), clamped to 6–510 kbit/s.
func (t *Tone) SetTargetBitrate(bps int) { t.bps.Store(int64(clampOpusBitrate(bps))) }

// Codec returns CodecOpus.
func (t *Tone) Codec() string { return CodecOpus }

// Next encodes the next 20 ms of the tone.
func (t *Tone) Next() (Sample, error) {
	if t.closed {
		return Sample{}, ErrClosed
	}
	if bps := int(t.bps.Load()); bps != t.setBPS {
		if err := t.enc.SetBitrate(bps); err != nil {
			return Sample{}, fmt.Errorf("media: opus bitrate %d: %w", bps, err)
		}
		t.setBPS = bps
	}
	step := 2 * math.Pi * t.freq / float64(t.sampleRate)
	// The encoder may hold back its first frames to fill its lookahead; a few tries suffice.
	for range 4 {
		for i := range t.pcm {
			t.pcm[i] = float32(toneAmplitude * math.Sin(t.phase))
			t.phase += step
		}
		t.phase = math.Mod(t.phase, 2*math.Pi)
		n, err := t.enc.Encode(t.pcm, t.buf)
		if err != nil {
			return Sample{}, fmt.Errorf("media: opus encode: %w", err)
		}
		if n > 0 {
			// A fresh slice: the sender may still hold the previous packet.
			return Sample{Data: append([]byte(nil), t.buf[:n]...), Duration: toneFrame}, nil
		}
	}
	return Sample{}, fmt.Errorf("media: opus encoder produced no packet")
}

// Restart starts the tone again at phase zero with a fresh encoder state.
func (t *Tone) Restart() error {
	if t.closed {
		return ErrClosed
	}
	t.enc.Reset()
	t.phase = 0
	return nil
}

// Close releases the tone.
func (t *Tone) Close() error {
	t.closed = true
	return nil
}
