// Package media holds sources and sinks of encoded media: the Go side's stand-ins for a
// camera and microphone (Source) and for the remote video view and speaker (Sink).
//
// Sources produce encoded frames (Opus packets, VP8 frames) with their durations; the SDK's
// peer connection packetises them and paces them onto the network. Sinks receive the remote
// party's RTP packets: to a file (CreateOgg, CreateIVF) or to a FrameCounter in tests.
//
// Some sources encode live: Tone and PCMInput (Opus, pure Go), and TestPattern and
// VideoInput (VP8 through libvpx). They implement BitrateTarget, and the video ones
// VideoEncoder, so that the SDK can apply a call's options to them.
//
// The package works without cgo. The VP8 sources need the vpx build tag (and libvpx-dev);
// without it their constructors return ErrNoVPX and video comes from IVF files only.
package media

import (
	"errors"
	"time"
)

// Codec names returned by Source.Codec and taken by NewFrameCounter.
const (
	CodecOpus = "opus"
	CodecVP8  = "vp8"
)

// ErrClosed is returned by sources and sinks used after Close.
var ErrClosed = errors.New("media: closed")

// Sample is one encoded frame: an Opus packet or a whole VP8 frame.
type Sample struct {
	// Data is the encoded frame. It belongs to the source and must not be modified; it stays
	// valid after the next call to Next. A live source with nothing to send returns a Sample
	// without Data: the sender sends nothing, waits at most Duration (or for Live.Ready),
	// and asks again.
	Data []byte
	// Duration is how much media the frame holds; the sender waits this long before the next.
	Duration time.Duration
	// Keyframe reports a VP8 frame that decodes on its own. Always false for audio.
	Keyframe bool
}

// Source produces encoded frames of one codec, as a camera or microphone with an encoder would.
//
// A Source is used by one goroutine at a time (the sender's pump); it need not be safe for
// concurrent use. File sources loop: at the end they start again from the first frame.
type Source interface {
	// Codec names the encoding: CodecOpus or CodecVP8.
	Codec() string
	// Next returns the next frame without waiting: the caller paces frames by their Duration.
	// An error ends sending from this source.
	Next() (Sample, error)
	// Restart rewinds to the start, so that for video the next frame is a keyframe. A sender
	// calls it when it begins, resumes, or the receiver asks for a keyframe (PLI or FIR):
	// file sources have no encoder that could make a keyframe on demand.
	Restart() error
	// Close releases the source. Next after Close returns ErrClosed.
	Close() error
}

// Live is implemented by sources fed from outside (VideoInput): Ready receives a value
// when a frame is waiting, so that a sender waiting after an empty Sample wakes at once.
type Live interface {
	Ready() <-chan struct{}
}

// fileSource serves frames preloaded from a file, looping. Preloading keeps disk reads out of
// the send path, so that a sender's first frame after accept costs no I/O.
type fileSource struct {
	codec   string
	samples []Sample
	next    int
	closed  bool
}

func (s *fileSource) Codec() string { return s.codec }

func (s *fileSource) Next() (Sample, error) {
	if s.closed {
		return Sample{}, ErrClosed
	}
	smp := s.samples[s.next]
	s.next++
	if s.next == len(s.samples) {
		s.next = 0
	}
	return smp, nil
}

func (s *fileSource) Restart() error {
	if s.closed {
		return ErrClosed
	}
	s.next = 0
	return nil
}

func (s *fileSource) Close() error {
	s.closed = true
	s.samples = nil
	return nil
}

// maxFileBytes bounds what OpenOgg and OpenIVF load into memory.
const maxFileBytes = 64 << 20
