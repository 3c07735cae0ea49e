package rtc

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/duet-rtc/duet/media"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
)

// Bounds on one assembled frame: received data is remote input.
const (
	maxFramePackets = 2048
	maxFrameBytes   = 4 << 20
	// pliRetry is how often CaptureKeyframe repeats its request while waiting: a PLI or the
	// keyframe answering it may be lost.
	pliRetry = time.Second
)

// inspectVideo looks at one received video packet: counts frames, notes the picture size of
// keyframes, and assembles frames while a CaptureKeyframe waits. It runs on the video
// track's reader goroutine.
func (p *Peer) inspectVideo(pkt *rtp.Packet, asm *vp8Assembler) {
	if pkt.Marker {
		p.recv[kindIndex(kindVideo)].frames.Add(1)
	}
	var vp8 codecs.VP8Packet
	payload, err := vp8.Unmarshal(pkt.Payload)
	if err != nil {
		return
	}
	start := vp8.S == 1 && vp8.PID == 0
	if start {
		if w, h, ok := media.VP8Size(payload); ok {
			p.remoteW.Store(int32(w))
			p.remoteH.Store(int32(h))
		}
	}
	if !p.grab.active() {
		return
	}
	if frame := asm.push(pkt.SequenceNumber, pkt.Timestamp, pkt.Marker, start, payload); frame != nil && media.IsVP8Keyframe(frame) {
		p.grab.deliver(frame)
	}
}

// CaptureKeyframe asks the peer for a keyframe (RTCP PLI, repeated every second) and
// returns the next complete VP8 keyframe received, for a snapshot of the remote picture. It
// waits until one arrives, ctx ends, or the Peer closes.
func (p *Peer) CaptureKeyframe(ctx context.Context) ([]byte, error) {
	if p.video == nil {
		return nil, errors.New("rtc: this peer has no video")
	}
	ch := p.grab.add()
	defer p.grab.remove(ch)
	t := time.NewTicker(pliRetry)
	defer t.Stop()
	p.RequestKeyframe()
	for {
		select {
		case f := <-ch:
			return f, nil
		case <-t.C:
			p.RequestKeyframe()
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-p.stop:
			return nil, errClosed
		}
	}
}

// LastSentKeyframe returns the last VP8 keyframe this Peer sent, or nil. Its bytes must not
// be modified.
func (p *Peer) LastSentKeyframe() []byte {
	if p.video == nil {
		return nil
	}
	if b := p.video.lastKeyframe.Load(); b != nil {
		return *b
	}
	return nil
}

// grabber hands assembled keyframes to CaptureKeyframe calls.
type grabber struct {
	n       atomic.Int32 // waiters: lets the reader skip assembly when nobody waits
	mu      sync.Mutex
	waiters map[chan []byte]struct{}
}

func (g *grabber) active() bool { return g.n.Load() > 0 }

func (g *grabber) add() chan []byte {
	ch := make(chan []byte, 1)
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.waiters == nil {
		g.waiters = map[chan []byte]struct{}{}
	}
	g.waiters[ch] = struct{}{}
	g.n.Add(1)
	return ch
}

func (g *grabber) remove(ch chan []byte) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if _, ok := g.waiters[ch]; ok {
		delete(g.waiters, ch)
		g.n.Add(-1)
	}
}

func (g *grabber) deliver(frame []byte) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for ch := range g.waiters {
		select {
		case ch <- frame:
		default:
		}
	}
}

// vp8Assembler rebuilds the newest VP8 frame (one RTP timestamp) from its packets, in any
// order and with duplicates, and returns it once whole.
type vp8Assembler struct {
	started   bool
	ts        uint32
	done      bool
	parts     map[uint16][]byte
	size      int
	first     uint16
	haveFirst bool
	last      uint16
	haveLast  bool
}

func (a *vp8Assembler) push(seq uint16, ts uint32, marker, start bool, payload []byte) []byte {
	if a.started && ts != a.ts {
		if int32(ts-a.ts) < 0 {
			return nil // a late packet of an older frame
		}
		a.started = false
	}
	if !a.started {
		*a = vp8Assembler{started: true, ts: ts, parts: make(map[uint16][]byte, 16)}
	}
	if a.done || len(a.parts) >= maxFramePackets || a.size+len(payload) > maxFrameBytes {
		return nil
	}
	if _, dup := a.parts[seq]; !dup {
		a.parts[seq] = payload
		a.size += len(payload)
	}
	if start {
		a.first, a.haveFirst = seq, true
	}
	if marker {
		a.last, a.haveLast = seq, true
	}
	if !a.haveFirst || !a.haveLast {
		return nil
	}
	n := int(a.last-a.first) + 1
	if n > len(a.parts) {
		return nil
	}
	frame := make([]byte, 0, a.size)
	for i := 0; i < n; i++ {
		part, ok := a.parts[a.first+uint16(i)]
		if !ok {
			return nil
		}
		frame = append(frame, part...)
	}
	a.done, a.parts = true, nil
	return frame
}
