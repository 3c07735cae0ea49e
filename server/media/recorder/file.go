package recorder

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"sync"
)

// fileSink is the WebM writer's output: buffered appends, flushed to the file every
// FlushInterval, and positioned writes (WriteAt) for the header fields patched in place: the
// Duration while recording, the Cues and the final Duration at the end.
type fileSink struct {
	mu      sync.Mutex
	f       *os.File
	bw      *bufio.Writer
	size    int64
	head    []byte // the first bytes written (the header), to find the Duration in
	durPos  int64  // offset of the Duration element's value, -1 until found
	closed  bool
	lastErr error
}

// headCapture is how much of the file's beginning is kept to find the Duration element.
const headCapture = 4096

func newFileSink(path string) (*fileSink, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, err
	}
	return &fileSink{f: f, bw: bufio.NewWriterSize(f, 64<<10), durPos: -1}, nil
}

func (s *fileSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, os.ErrClosed
	}
	if len(s.head) < headCapture {
		s.head = append(s.head, p[:min(len(p), headCapture-len(s.head))]...)
	}
	n, err := s.bw.Write(p)
	s.size += int64(n)
	if err != nil {
		s.lastErr = err
	}
	return n, err
}

func (s *fileSink) WriteAt(p []byte, off int64) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, os.ErrClosed
	}
	if err := s.bw.Flush(); err != nil {
		s.lastErr = err
		return 0, err
	}
	return s.f.WriteAt(p, off)
}

// Flush moves buffered data to the file.
func (s *fileSink) Flush() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	if err := s.bw.Flush(); err != nil {
		s.lastErr = err
		return err
	}
	return nil
}

// durationPlaceholder is how ebml-go writes the Duration it fills in at the end (with Cues
// on): element id 0x4489, size 8, float64 math.SmallestNonzeroFloat64.
var durationPlaceholder = []byte{0x44, 0x89, 0x88, 0, 0, 0, 0, 0, 0, 0, 1}

// findDuration locates the Duration placeholder in the header written so far.
func (s *fileSink) findDuration() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if i := bytes.Index(s.head, durationPlaceholder); i >= 0 {
		s.durPos = int64(i) + 3
	}
	s.head = nil
}

// PatchDuration flushes and writes ms as the header's Duration, so that a file cut short by
// a crash still says how long it is (up to the last flush).
func (s *fileSink) PatchDuration(ms float64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.durPos < 0 {
		return nil
	}
	if err := s.bw.Flush(); err != nil {
		s.lastErr = err
		return err
	}
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], math.Float64bits(ms))
	_, err := s.f.WriteAt(b[:], s.durPos)
	return err
}

// Close flushes and closes the file (the WebM writer calls it when it finishes).
func (s *fileSink) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	err := s.bw.Flush()
	if cerr := s.f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = s.lastErr
	}
	return err
}

// Size is the number of bytes written so far.
func (s *fileSink) Size() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.size
}

var errNoMedia = errors.New("recorder: no media was recorded")
