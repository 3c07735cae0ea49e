package rtc

import (
	"errors"
	"fmt"

	"github.com/duet-rtc/duet/media"
)

// StartSending starts sending: audio from audio, video from video, each rewound first so
// that video begins with a keyframe. It is called when the call is accepted; before it the
// Peer writes no media at all, however long the transport has been up. If the transport is
// not up yet, sending begins the moment it is.
//
// A nil source leaves that kind silent (for video, until ReplaceVideoSource). The Peer owns
// the sources from here on, even when it returns an error. A pause requested earlier holds.
func (p *Peer) StartSending(audio, video media.Source) error {
	closeAll := func() {
		for _, s := range []media.Source{audio, video} {
			if s != nil {
				s.Close()
			}
		}
	}
	if err := checkSource(p.audio, audio); err != nil {
		closeAll()
		return err
	}
	if err := checkSource(p.video, video); err != nil {
		closeAll()
		return err
	}
	p.mu.Lock()
	if p.closed || p.sending {
		closed := p.closed
		p.mu.Unlock()
		closeAll()
		if closed {
			return errClosed
		}
		return errors.New("rtc: already sending")
	}
	p.sending = true
	p.mu.Unlock()

	for _, x := range []struct {
		pu  *pump
		src media.Source
	}{{p.audio, audio}, {p.video, video}} {
		if x.pu == nil {
			continue
		}
		var old media.Source
		x.pu.update(func() {
			if x.src != nil {
				old, x.pu.src = x.pu.src, x.src
			}
			x.pu.restart, x.pu.srcFailed, x.pu.started = true, false, true
			x.pu.applyBitrateLocked()
		})
		if old != nil {
			old.Close()
		}
	}
	return nil
}

// checkSource refuses a source for a kind the Peer does not send, or of the wrong codec.
// pu is the pump the source is for: p.audio or p.video, nil when the Config left it out.
func checkSource(pu *pump, src media.Source) error {
	switch {
	case src == nil:
		return nil
	case pu == nil:
		return fmt.Errorf("rtc: this peer has no track for %s", src.Codec())
	case src.Codec() != pu.codec:
		return fmt.Errorf("rtc: %s source of codec %q, want %q", pu.kind, src.Codec(), pu.codec)
	}
	return nil
}

// PauseAudio stops sending audio: no packets leave until ResumeAudio.
func (p *Peer) PauseAudio() { p.setPaused(p.audio, true) }

// ResumeAudio sends audio again, continuing the source where it stopped.
func (p *Peer) ResumeAudio() { p.setPaused(p.audio, false) }

// PauseVideo stops sending video: no packets leave until ResumeVideo.
func (p *Peer) PauseVideo() { p.setPaused(p.video, true) }

// ResumeVideo sends video again, beginning with a keyframe (the source is rewound), so the
// remote decoder recovers at once.
func (p *Peer) ResumeVideo() { p.setPaused(p.video, false) }

func (p *Peer) setPaused(pu *pump, paused bool) {
	if pu == nil {
		return
	}
	pu.update(func() {
		if pu.paused && !paused && pu.kind == kindVideo {
			pu.restart = true
		}
		pu.paused = paused
	})
}

// ReplaceVideoSource switches the video source (another camera) without renegotiation; the
// new source begins with a keyframe. The Peer closes the source it replaces. Before
// StartSending it sets the source StartSending uses when given none. An error (no video in
// this Peer, wrong codec, closed) closes src.
func (p *Peer) ReplaceVideoSource(src media.Source) error {
	if src == nil {
		return errors.New("rtc: nil video source")
	}
	if err := checkSource(p.video, src); err != nil {
		src.Close()
		return err
	}
	p.mu.Lock()
	closed := p.closed
	p.mu.Unlock()
	if closed {
		src.Close()
		return errClosed
	}
	if old := p.video.setSource(src); old != nil {
		old.Close()
	}
	return nil
}
