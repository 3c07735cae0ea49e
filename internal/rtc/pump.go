package rtc

import (
	"errors"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/duet-rtc/duet/media"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"
)

const (
	// rtpMTU is the largest RTP packet we build, as pion and browsers do: it leaves room for
	// SRTP, UDP, IP and a TURN channel header inside a 1280-byte IPv6 minimum MTU.
	rtpMTU = 1200
	// maxLag is how far the pump may fall behind its schedule (a stalled process, a slow
	// source) before it stops catching up in a burst and moves its timeline to now.
	maxLag = 100 * time.Millisecond
	// keyframeMinInterval throttles keyframe requests: a receiver that lost a frame may send
	// several PLIs, and each restart of a file source jumps the picture back to its start.
	keyframeMinInterval = 300 * time.Millisecond
)

// pump writes one kind of media from a Source to a local track, paced by sample durations.
// It sends only while started, connected and not paused; its goroutine lives from NewPeer
// to Close and sleeps on wake otherwise.
type pump struct {
	kind      string // kindAudio or kindVideo
	codec     string // media.CodecOpus or media.CodecVP8
	track     *webrtc.TrackLocalStaticRTP
	clockRate float64
	sent      *rtpCounter
	log       *slog.Logger

	mu        sync.Mutex
	src       media.Source
	started   bool // StartSending was called
	connected bool // the transport is up
	paused    bool
	restart   bool // rewind the source before the next sample: a keyframe is due
	srcFailed bool // src returned an error; wait for another source
	lastKey   time.Time
	bps       int // target bitrate for sources that encode live; 0: leave theirs

	// lastKeyframe is the last keyframe sent (video), for a local snapshot of a source that
	// cannot hand out its pictures (a file).
	lastKeyframe atomic.Pointer[[]byte]

	wake chan struct{} // capacity 1: state changed
	stop chan struct{}
	done chan struct{}
}

func newPump(kind string, track *webrtc.TrackLocalStaticRTP, clockRate uint32, sent *rtpCounter, log *slog.Logger) *pump {
	codec := media.CodecOpus
	if kind == kindVideo {
		codec = media.CodecVP8
	}
	return &pump{
		kind: kind, codec: codec, track: track, clockRate: float64(clockRate), sent: sent, log: log,
		wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}),
	}
}

// update changes the pump's state under its lock and wakes it.
func (p *pump) update(f func()) {
	p.mu.Lock()
	f()
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// setSource installs src (which begins with a keyframe) and returns the source it replaces.
func (p *pump) setSource(src media.Source) (old media.Source) {
	p.update(func() {
		old = p.src
		p.src, p.restart, p.srcFailed = src, true, false
		p.applyBitrateLocked()
	})
	if old == src {
		return nil
	}
	return old
}

// setBitrate sets the target bitrate of the source, now and for any source installed later.
func (p *pump) setBitrate(bps int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if bps == p.bps {
		return
	}
	p.bps = bps
	p.applyBitrateLocked()
}

// applyBitrateLocked passes the target to a source that encodes live; the caller holds mu.
// BitrateTarget is safe to call concurrently with Next, so this never waits for the pump.
func (p *pump) applyBitrateLocked() {
	if bt, ok := p.src.(media.BitrateTarget); ok && p.bps > 0 {
		bt.SetTargetBitrate(p.bps)
	}
}

// requestKeyframe makes the next sample a keyframe unless one went out moments ago.
func (p *pump) requestKeyframe() {
	p.update(func() {
		if time.Since(p.lastKey) >= keyframeMinInterval {
			p.restart = true
		}
	})
}

// close stops the goroutine and returns the source for the caller to close.
func (p *pump) close() media.Source {
	close(p.stop)
	<-p.done
	p.mu.Lock()
	defer p.mu.Unlock()
	src := p.src
	p.src = nil
	return src
}

func (p *pump) run() {
	defer close(p.done)
	payloader := rtp.Payloader(&codecs.OpusPayloader{})
	if p.kind == kindVideo {
		payloader = &codecs.VP8Payloader{EnablePictureID: true}
	}
	// Our own packetizer on a TrackLocalStaticRTP, rather than TrackLocalStaticSample, so that
	// a pause can advance the RTP timestamp without skipping sequence numbers (which the
	// receiver would take for loss and NACK).
	pk := rtp.NewPacketizer(rtpMTU, 0, 0, payloader, rtp.NewRandomSequencer(), uint32(p.clockRate))
	var (
		end       time.Time // wall-clock time at which the RTP timeline now ends
		remainder float64   // fractions of a tick carried between samples
		idle      = true    // not sending since the last sample: re-anchor the timeline
		timer     = time.NewTimer(time.Hour)
	)
	timer.Stop()
	for {
		p.mu.Lock()
		if !p.started || !p.connected || p.paused || p.src == nil || p.srcFailed {
			p.mu.Unlock()
			idle = true
			select {
			case <-p.stop:
				return
			case <-p.wake:
			}
			continue
		}
		now := time.Now()
		if !idle && now.Before(end) {
			p.mu.Unlock()
			timer.Reset(end.Sub(now))
			select {
			case <-p.stop:
				timer.Stop()
				return
			case <-p.wake:
				timer.Stop()
			case <-timer.C:
			}
			continue
		}
		src := p.src
		var err error
		if p.restart {
			p.restart = false
			err = src.Restart()
		}
		var s media.Sample
		if err == nil {
			s, err = src.Next()
		}
		if err != nil {
			p.srcFailed = true
			p.mu.Unlock()
			p.log.Warn("media source failed; sending stops until another source is set", "kind", p.kind, "err", err)
			continue
		}
		if s.Keyframe {
			p.lastKey = now
		}
		var ready <-chan struct{}
		if live, ok := src.(media.Live); ok && len(s.Data) == 0 {
			ready = live.Ready()
		}
		p.mu.Unlock()

		if len(s.Data) == 0 {
			// A live source with nothing to send yet (or an encoder that dropped a frame):
			// nothing goes out, and the RTP clock re-anchors to the wall clock at the next
			// frame, as after a pause.
			idle = true
			d := s.Duration
			if d <= 0 || d > time.Second {
				d = 20 * time.Millisecond
			}
			timer.Reset(d)
			select {
			case <-p.stop:
				timer.Stop()
				return
			case <-p.wake:
			case <-ready:
			case <-timer.C:
			}
			timer.Stop()
			continue
		}
		if s.Keyframe && p.kind == kindVideo {
			data := s.Data
			p.lastKeyframe.Store(&data)
		}

		// Keep the RTP clock in step with the wall clock: after a pause or a stall the
		// timestamp jumps by the time that passed, as a live capture's would.
		if end.IsZero() {
			end = now
		} else if lag := now.Sub(end); idle || lag > maxLag {
			if lag > 0 {
				pk.SkipSamples(uint32(lag.Seconds() * p.clockRate))
			}
			end = now
		}
		idle = false

		d := s.Duration
		if d <= 0 {
			d = 20 * time.Millisecond // a source bug must not turn into a busy loop
		}
		ticks := d.Seconds()*p.clockRate + remainder
		n := uint32(ticks)
		remainder = ticks - float64(n)
		for _, pkt := range pk.Packetize(s.Data, n) {
			if err := p.track.WriteRTP(pkt); err != nil {
				if errors.Is(err, io.ErrClosedPipe) {
					break
				}
				p.log.Debug("rtp write failed", "kind", p.kind, "err", err)
				continue
			}
			p.sent.add(len(pkt.Payload))
		}
		p.sent.frames.Add(1)
		end = end.Add(d)
	}
}
