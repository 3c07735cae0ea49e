package media

import "time"

// opusSilence is a 20 ms CELT frame that decodes to silence (TOC 0xf8: fullband, mono,
// one frame), the frame WebRTC stacks send for a muted microphone.
var opusSilence = []byte{0xf8, 0xff, 0xfe}

// Silence is a Source of Opus silence frames, 20 ms each, costing nothing to produce.
type Silence struct{ closed bool }

// NewSilence returns a Silence source.
func NewSilence() *Silence { return &Silence{} }

// Codec returns CodecOpus.
func (s *Silence) Codec() string { return CodecOpus }

// Next returns one 20 ms silence frame.
func (s *Silence) Next() (Sample, error) {
	if s.closed {
		return Sample{}, ErrClosed
	}
	return Sample{Data: opusSilence, Duration: 20 * time.Millisecond}, nil
}

// Restart does nothing: silence has no position.
func (s *Silence) Restart() error {
	if s.closed {
		return ErrClosed
	}
	return nil
}

// Close releases the source.
func (s *Silence) Close() error {
	s.closed = true
	return nil
}
