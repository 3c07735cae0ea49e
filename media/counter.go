package media

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
)

// CounterStats is what a FrameCounter has seen since it was made or Reset.
type CounterStats struct {
	Packets int // RTP packets
	Bytes   int // RTP payload bytes
	// Frames counts complete frames: for VP8, every packet of a frame from its first to the
	// one with the marker bit; for Opus, every non-empty packet.
	Frames    int
	Keyframes int // complete VP8 keyframes

	FirstPacketAt   time.Time
	LastPacketAt    time.Time
	FirstFrameAt    time.Time // when the first complete frame's last packet arrived
	FirstKeyframeAt time.Time // when the first complete keyframe's last packet arrived

	// StartedWithKeyframe reports that the first complete VP8 frame was a keyframe, as it
	// must be when a sender starts, resumes or switches source.
	StartedWithKeyframe bool
	// Width and Height are the picture size of the last complete VP8 keyframe.
	Width, Height int
}

// FrameCounter is a Sink that counts packets, bytes and complete frames and records when the
// first ones arrived, then passes each packet on to another sink (if any). Tests and
// benchmarks use it to see what a user would see: has a picture arrived, and when.
//
// A frame counts as complete as soon as its last packet is in, without waiting for the next
// frame to begin as pion's samplebuilder does: that wait would add a whole frame interval to
// every time-to-first-frame measurement.
type FrameCounter struct {
	next Sink
	vp8  bool

	mu      sync.Mutex
	stats   CounterStats
	frame   vp8Frame
	changed chan struct{} // closed and cleared on every change, made on demand by Wait
}

// NewFrameCounter returns a FrameCounter for codec (CodecVP8 or CodecOpus) that passes
// packets on to next; next may be nil. For other codecs only packets and bytes are counted.
func NewFrameCounter(codec string, next Sink) *FrameCounter {
	return &FrameCounter{next: next, vp8: strings.EqualFold(codec, CodecVP8)}
}

// WriteRTP counts pkt and passes it on.
func (c *FrameCounter) WriteRTP(pkt *rtp.Packet) error {
	now := time.Now()
	c.mu.Lock()
	s := &c.stats
	s.Packets++
	s.Bytes += len(pkt.Payload)
	if s.FirstPacketAt.IsZero() {
		s.FirstPacketAt = now
	}
	s.LastPacketAt = now
	if c.vp8 {
		if done, key, w, h := c.frame.push(pkt); done {
			c.countFrame(now, key)
			if key && w > 0 {
				s.Width, s.Height = w, h
			}
		}
	} else if len(pkt.Payload) > 0 {
		c.countFrame(now, false)
	}
	if c.changed != nil {
		close(c.changed)
		c.changed = nil
	}
	c.mu.Unlock()
	if c.next != nil {
		return c.next.WriteRTP(pkt)
	}
	return nil
}

func (c *FrameCounter) countFrame(now time.Time, key bool) {
	s := &c.stats
	if s.Frames == 0 {
		s.FirstFrameAt = now
		s.StartedWithKeyframe = key
	}
	s.Frames++
	if key {
		if s.Keyframes == 0 {
			s.FirstKeyframeAt = now
		}
		s.Keyframes++
	}
}

// Stats returns the counts so far.
func (c *FrameCounter) Stats() CounterStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stats
}

// Reset clears the counts, as if the counter were new, and forgets any partial frame.
func (c *FrameCounter) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stats = CounterStats{}
	c.frame = vp8Frame{}
}

// Wait blocks until cond holds for the counts, or ctx ends. It returns the counts that
// satisfied cond, or the latest counts and ctx's error.
func (c *FrameCounter) Wait(ctx context.Context, cond func(CounterStats) bool) (CounterStats, error) {
	for {
		c.mu.Lock()
		s := c.stats
		if cond(s) {
			c.mu.Unlock()
			return s, nil
		}
		if c.changed == nil {
			c.changed = make(chan struct{})
		}
		ch := c.changed
		c.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return c.Stats(), ctx.Err()
		}
	}
}

// Close closes the sink packets are passed on to.
func (c *FrameCounter) Close() error {
	if c.next != nil {
		return c.next.Close()
	}
	return nil
}

// maxFramePackets bounds the packets remembered for one frame: a 1 MB keyframe in 1200-byte
// packets is under 1000, and a hostile stream must not grow memory without limit.
const maxFramePackets = 2048

// vp8Frame assembles the packets of the newest VP8 frame (one RTP timestamp), in any order
// and with duplicates from retransmission, until the frame is whole.
type vp8Frame struct {
	started   bool
	ssrc      uint32
	ts        uint32
	done      bool
	seqs      map[uint16]struct{}
	first     uint16 // sequence number of the partition-start packet, if haveFirst
	haveFirst bool
	last      uint16 // sequence number of the marker packet, if haveLast
	haveLast  bool
	key       bool
	w, h      int
}

// push adds pkt and reports whether it completed the frame, and that frame's kind and size.
func (f *vp8Frame) push(pkt *rtp.Packet) (done, key bool, w, h int) {
	var vp8 codecs.VP8Packet
	if _, err := vp8.Unmarshal(pkt.Payload); err != nil {
		return false, false, 0, 0
	}
	if f.started && pkt.SSRC != f.ssrc {
		f.started = false // another stream (the sender's connection was set up again)
	}
	if f.started && pkt.Timestamp != f.ts {
		if int32(pkt.Timestamp-f.ts) < 0 {
			return false, false, 0, 0 // a late packet of an older frame
		}
		f.started = false
	}
	if !f.started {
		*f = vp8Frame{started: true, ssrc: pkt.SSRC, ts: pkt.Timestamp, seqs: make(map[uint16]struct{}, 8)}
	}
	if f.done || len(f.seqs) >= maxFramePackets {
		return false, false, 0, 0
	}
	f.seqs[pkt.SequenceNumber] = struct{}{}
	if vp8.S == 1 && vp8.PID == 0 {
		f.first, f.haveFirst = pkt.SequenceNumber, true
		f.key = IsVP8Keyframe(vp8.Payload)
		f.w, f.h, _ = VP8Size(vp8.Payload)
	}
	if pkt.Marker {
		f.last, f.haveLast = pkt.SequenceNumber, true
	}
	if !f.haveFirst || !f.haveLast {
		return false, false, 0, 0
	}
	n := int(f.last-f.first) + 1
	if n > len(f.seqs) {
		return false, false, 0, 0
	}
	for i := 0; i < n; i++ {
		if _, ok := f.seqs[f.first+uint16(i)]; !ok {
			return false, false, 0, 0
		}
	}
	f.done = true
	f.seqs = nil
	return true, f.key, f.w, f.h
}
