package media

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/thesyncim/gopus"
)

// ErrBufferFull is returned by PCMInput.Write when the samples would not fit in its buffer:
// the application is feeding faster than real time.
var ErrBufferFull = errors.New("media: audio buffer full")

const (
	pcmFrame = 20 * time.Millisecond
	// pcmPrebuffer is how much audio must be waiting before sending starts (and restarts
	// after running dry): enough to ride out an application feeding in 20 ms steps with jitter.
	pcmPrebuffer = 40 * time.Millisecond
)

// PCMInput is an Opus audio Source fed with 16-bit mono PCM by the application (the seed's
// custom audio data), encoded in pure Go (gopus) into 20 ms frames. When the application
// falls behind, the input sends silence until it has a little audio buffered again, so the
// stream never stops, as a microphone's would not.
//
// Write and SetTargetBitrate are safe to call from any goroutine.
type PCMInput struct {
	rate     int
	frameLen int // samples per 20 ms frame
	enc      *gopus.Encoder
	bps      atomic.Int64
	setBPS   int // the bitrate the encoder has, on the sending goroutine
	frame    []int16
	out      []byte

	mu        sync.Mutex
	buf       []int16 // ring buffer
	head, n   int
	buffering bool
	closed    bool
}

// NewPCMInput returns a PCMInput for sampleRate (8000, 12000, 16000, 24000 or 48000 Hz)
// holding up to capacity of audio.
func NewPCMInput(sampleRate int, capacity time.Duration) (*PCMInput, error) {
	enc, err := gopus.NewEncoder(gopus.EncoderConfig{SampleRate: sampleRate, Channels: 1, Application: gopus.ApplicationVoIP})
	if err != nil {
		return nil, fmt.Errorf("media: opus encoder at %d Hz: %w", sampleRate, err)
	}
	if capacity < 2*pcmPrebuffer {
		capacity = 2 * pcmPrebuffer
	}
	frameLen := sampleRate * int(pcmFrame) / int(time.Second)
	p := &PCMInput{
		rate: sampleRate, frameLen: frameLen, enc: enc,
		frame: make([]int16, frameLen), out: make([]byte, 4000),
		buf: make([]int16, int(int64(sampleRate)*int64(capacity)/int64(time.Second))), buffering: true,
	}
	p.bps.Store(32000)
	return p, nil
}

// SampleRate returns the input's sample rate.
func (p *PCMInput) SampleRate() int { return p.rate }

// Write queues samples for sending. It takes all of them or, when they do not fit, none and
// returns ErrBufferFull.
func (p *PCMInput) Write(samples []int16) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return ErrClosed
	}
	if p.n+len(samples) > len(p.buf) {
		return ErrBufferFull
	}
	tail := (p.head + p.n) % len(p.buf)
	k := copy(p.buf[tail:], samples)
	copy(p.buf, samples[k:])
	p.n += len(samples)
	return nil
}

// Buffered returns how much audio is waiting to be sent.
func (p *PCMInput) Buffered() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return time.Duration(p.n) * time.Second / time.Duration(p.rate)
}

// Codec returns CodecOpus.
func (p *PCMInput) Codec() string { return CodecOpus }

// Next encodes the next 20 ms: buffered audio, or silence while the buffer refills.
func (p *PCMInput) Next() (Sample, error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return Sample{}, ErrClosed
	}
	if p.buffering && time.Duration(p.n)*time.Second/time.Duration(p.rate) >= pcmPrebuffer {
		p.buffering = false
	}
	if !p.buffering && p.n < p.frameLen {
		p.buffering = true
	}
	if p.buffering {
		clear(p.frame)
	} else {
		k := copy(p.frame, p.buf[p.head:min(p.head+p.frameLen, len(p.buf))])
		copy(p.frame[k:], p.buf[:p.frameLen-k])
		p.head = (p.head + p.frameLen) % len(p.buf)
		p.n -= p.frameLen
	}
	p.mu.Unlock()

	if bps := int(p.bps.Load()); bps != p.setBPS {
		if err := p.enc.SetBitrate(bps); err != nil {
			return Sample{}, fmt.Errorf("media: opus bitrate %d: %w", bps, err)
		}
		p.setBPS = bps
	}
	// The encoder may hold back its first frames to fill its lookahead; a few tries suffice.
	for range 4 {
		n, err := p.enc.EncodeInt16(p.frame, p.out)
		if err != nil {
			return Sample{}, fmt.Errorf("media: opus encode: %w", err)
		}
		if n > 0 {
			return Sample{Data: append([]byte(nil), p.out[:n]...), Duration: pcmFrame}, nil
		}
	}
	return Sample{}, errors.New("media: opus encoder produced no packet")
}

// Restart does nothing: live audio has no start to go back to.
func (p *PCMInput) Restart() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return ErrClosed
	}
	return nil
}

// Close releases the input; Write then returns ErrClosed.
func (p *PCMInput) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	p.buf = nil
	p.n = 0
	return nil
}

// SetTargetBitrate sets the Opus bitrate, clamped to Opus's 6–510 kbit/s.
func (p *PCMInput) SetTargetBitrate(bps int) { p.bps.Store(int64(clampOpusBitrate(bps))) }

func clampOpusBitrate(bps int) int { return min(max(bps, 6000), 510000) }
