package media

import (
	"fmt"
	"sync"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4/pkg/media/ivfwriter"
	"github.com/pion/webrtc/v4/pkg/media/oggwriter"
)

// Sink receives the RTP packets of one remote track.
//
// The SDK calls WriteRTP from one goroutine per track and may keep calling it until it has
// been told to stop using the sink; a sink may keep the packet (it is not reused). The sinks
// of this package are safe for concurrent use, and WriteRTP after Close is a no-op, so a sink
// may be closed while a call is still winding down.
type Sink interface {
	WriteRTP(pkt *rtp.Packet) error
	Close() error
}

// CreateOgg creates an Ogg/Opus file at path that records the Opus packets written to it,
// declared as 48 kHz stereo, as browsers send Opus.
func CreateOgg(path string) (Sink, error) {
	w, err := oggwriter.New(path, 48000, 2)
	if err != nil {
		return nil, fmt.Errorf("media: create %s: %w", path, err)
	}
	return &lockedSink{w: w}, nil
}

// CreateIVF creates an IVF file at path that records the VP8 frames carried by the packets
// written to it. Writing starts at the first keyframe; the header's frame count is written
// on Close.
func CreateIVF(path string) (Sink, error) {
	w, err := ivfwriter.New(path, ivfwriter.WithCodec("video/VP8"))
	if err != nil {
		return nil, fmt.Errorf("media: create %s: %w", path, err)
	}
	return &lockedSink{w: w}, nil
}

// lockedSink serialises a pion writer, which is not safe for concurrent use, and turns
// writes after Close into no-ops.
type lockedSink struct {
	mu     sync.Mutex
	w      Sink
	closed bool
}

func (s *lockedSink) WriteRTP(pkt *rtp.Packet) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	return s.w.WriteRTP(pkt)
}

func (s *lockedSink) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	return s.w.Close()
}
