package duet

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/duet-rtc/duet/internal/rtc"
	"github.com/duet-rtc/duet/media"
	"github.com/duet-rtc/duet/protocol"
)

// ErrNoVPX is returned by the features that encode or decode VP8 in the SDK (custom video,
// snapshots of VP8 pictures, media.NewTestPattern) in a build without the vpx build tag.
var ErrNoVPX = media.ErrNoVPX

// VideoFrame is one raw picture for InputVideoFrame: I420, NV12 or RGBA, with its capture
// timestamp.
type VideoFrame = media.RawFrame

// VideoFormat is the pixel layout of a VideoFrame.
type VideoFormat = media.PixelFormat

// Pixel layouts of VideoFrame.Data.
const (
	VideoFormatI420 = media.PixelI420
	VideoFormatNV12 = media.PixelNV12
	VideoFormatRGBA = media.PixelRGBA
)

// Results of InputCustomAudioData, the seed's return codes plus one of duet's.
const (
	CustomAudioOK          = 0
	CustomAudioNotEnabled  = -1 // EnableCustomAudioData is off, or no call is accepted
	CustomAudioBadChannels = -2 // AudioCustomChannels is not 1
	CustomAudioBufferFull  = -3 // fed faster than real time
	CustomAudioBadBuffer   = -4 // duet: odd length, or more than 100 ms
)

const (
	// customAudioBuffer is how much fed audio may wait to be sent before Input reports -3.
	customAudioBuffer = 500 * time.Millisecond
	// maxCustomAudio is the most audio one InputCustomAudioData call may carry (the seed's).
	maxCustomAudio = 100 * time.Millisecond
	// defaultCustomFPS is the frame rate of custom video when MaxVideoFrameRate is 0.
	defaultCustomFPS = 30
)

// bandwidth returns the limits the call's options set on its media.
func (o CallOptions) bandwidth() rtc.Bandwidth {
	return rtc.Bandwidth{MaxAudioKbps: o.MaxAudioKbps, MaxVideoKbps: o.MaxVideoKbps, MinVideoKbps: o.MinVideoKbps}
}

// videoEncoding returns what the options ask of a video encoder the SDK feeds.
func (o CallOptions) videoEncoding() media.VideoEncoding {
	e := media.VideoEncoding{MaxFrameRate: o.MaxVideoFrameRate, ClarityFirst: o.IsClarityFirst}
	switch o.VideoResolution {
	case VideoResolution352x288:
		e.MaxWidth, e.MaxHeight = 352, 288
	case VideoResolution640x480:
		e.MaxWidth, e.MaxHeight = 640, 480
	case VideoResolution1280x720:
		e.MaxWidth, e.MaxHeight = 1280, 720
	}
	return e
}

// openSources opens the media of an accepted call: custom input when the options enable it,
// else the MediaOptions' sources (audio defaults to Opus silence).
func (m *CallManager) openSources(s *CallSession, mo MediaOptions) (audio, video media.Source) {
	var err error
	switch {
	case s.opts.EnableCustomAudioData:
		in, err := s.customAudio()
		if err != nil {
			m.log.Error("custom audio input", "err", err)
			break
		}
		audio = in
	case mo.AudioSource != nil:
		if audio, err = mo.AudioSource(s); err != nil {
			m.log.Error("audio source", "err", err)
		}
	}
	if audio == nil {
		audio = media.NewSilence()
	}
	if s.callType != CallTypeVideo {
		return audio, nil
	}
	switch {
	case s.opts.EnableCustomizeVideoData:
		in, err := s.customVideo()
		if err != nil {
			m.log.Error("custom video input", "err", err)
			return audio, nil
		}
		video = in
	case mo.VideoSource != nil:
		if video, err = mo.VideoSource(s); err != nil {
			m.log.Error("video source", "err", err)
		}
	}
	if video != nil {
		m.configureVideo(s, video)
		s.mu.Lock()
		s.videoSrc = video
		s.mu.Unlock()
	}
	return audio, video
}

// customAudio returns the call's custom audio input, made on first use: by the first
// InputCustomAudioData after accept, or when sending starts. Audio fed before the media
// connection is up waits in its buffer.
func (s *CallSession) customAudio() (*media.PCMInput, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.audioIn == nil {
		rate := s.opts.AudioCustomSamples
		if rate == 0 {
			rate = 48000
		}
		in, err := media.NewPCMInput(rate, customAudioBuffer)
		if err != nil {
			return nil, err
		}
		s.audioIn = in
	}
	return s.audioIn, nil
}

// customVideo returns the call's custom video input, made on first use like customAudio;
// a frame fed before the media connection is up becomes the first one sent.
func (s *CallSession) customVideo() (*media.VideoInput, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.videoIn == nil {
		fps := s.opts.MaxVideoFrameRate
		if fps == 0 {
			fps = defaultCustomFPS
		}
		in, err := media.NewVideoInput(fps)
		if err != nil {
			return nil, err
		}
		in.SetEncoding(s.opts.videoEncoding())
		s.videoIn = in
	}
	return s.videoIn, nil
}

// configureVideo applies the call's options and the watermark to a video source that the
// SDK's encoder feeds; other sources (files) are sent as they are.
func (m *CallManager) configureVideo(s *CallSession, src media.Source) {
	enc, ok := src.(media.VideoEncoder)
	if !ok {
		return
	}
	enc.SetEncoding(s.opts.videoEncoding())
	enc.SetOverlay(m.currentOverlay())
}

// InputCustomAudioData feeds 16-bit mono little-endian PCM at AudioCustomSamples Hz into
// the accepted call (the seed's voice changer): inputCustomAudioData:. One call carries at
// most 100 ms; the SDK encodes it to Opus in 20 ms frames and sends it in place of the
// microphone. It returns 0 when the audio was queued, -1 when EnableCustomAudioData is off
// or no call is accepted (start after CallDidAccept), -2 when AudioCustomChannels is not
// 1, -3 when the buffer (half a second) is full, and -4 (duet's addition) for a buffer of odd
// length or more than 100 ms.
func (m *CallManager) InputCustomAudioData(pcm []byte) int {
	s := m.liveSession()
	opts := m.CallOptions()
	if s != nil {
		opts = s.opts
	}
	if !opts.EnableCustomAudioData {
		return CustomAudioNotEnabled
	}
	if opts.AudioCustomChannels != 0 && opts.AudioCustomChannels != 1 {
		return CustomAudioBadChannels
	}
	if s == nil || s.Status() != CallStatusAccepted {
		return CustomAudioNotEnabled
	}
	in, err := s.customAudio()
	if err != nil {
		return CustomAudioNotEnabled
	}
	maxBytes := 2 * in.SampleRate() * int(maxCustomAudio/time.Millisecond) / 1000
	if len(pcm)%2 != 0 || len(pcm) > maxBytes {
		return CustomAudioBadBuffer
	}
	samples := make([]int16, len(pcm)/2)
	for i := range samples {
		samples[i] = int16(binary.LittleEndian.Uint16(pcm[2*i:]))
	}
	switch err := in.Write(samples); {
	case err == nil:
		return CustomAudioOK
	case errors.Is(err, media.ErrBufferFull):
		return CustomAudioBufferFull
	default: // closed: the call is ending
		return CustomAudioNotEnabled
	}
}

// InputVideoFrame feeds one picture into call callID (the seed's beauty filter):
// inputVideoPixelBuffer:. The SDK converts it to I420, turns it clockwise by rotation
// degrees (0, 90, 180 or 270), scales it down to the call's VideoResolution, draws the
// watermark, and encodes it to VP8 at the call's bitrate; frames that come faster than
// MaxVideoFrameRate (default 30) replace each other. It needs EnableCustomizeVideoData
// before the call starts, a video call, and status Accepted: earlier frames are refused with
// an error, as in the seed. Without the vpx build tag it returns ErrNoVPX.
func (m *CallManager) InputVideoFrame(callID string, frame VideoFrame, rotation int) error {
	s := m.Session(callID)
	if s == nil {
		return &Error{Code: protocol.CodeCallInvalidID, Message: "no call " + callID}
	}
	if !s.opts.EnableCustomizeVideoData {
		return &Error{Code: protocol.CodeGeneral, Message: "custom video data is not enabled for this call (set EnableCustomizeVideoData before it starts)"}
	}
	if s.callType != CallTypeVideo {
		return &Error{Code: protocol.CodeGeneral, Message: "a voice call takes no video"}
	}
	if status := s.Status(); status != CallStatusAccepted {
		return &Error{Code: protocol.CodeGeneral, Message: fmt.Sprintf("frames are taken only once the call is accepted (status %d)", status)}
	}
	in, err := s.customVideo()
	if err != nil {
		if errors.Is(err, media.ErrNoVPX) {
			return ErrNoVPX
		}
		return &Error{Code: protocol.CodeGeneral, Message: err.Error()}
	}
	if err := in.Write(frame, rotation); err != nil {
		if errors.Is(err, media.ErrClosed) {
			return &Error{Code: protocol.CodeCallInvalidID, Message: "call has ended"}
		}
		return &Error{Code: protocol.CodeUserIllegalArgument, Message: err.Error()}
	}
	return nil
}

// liveSession returns the call this device is in, or nil: the accepted one if any (a device
// has one call at a time; others only ring briefly before the server refuses them).
func (m *CallManager) liveSession() *CallSession {
	m.mu.Lock()
	ss := make([]*CallSession, 0, len(m.sessions))
	for _, s := range m.sessions {
		ss = append(ss, s)
	}
	m.mu.Unlock()
	var any *CallSession
	for _, s := range ss {
		if s.Status() == CallStatusAccepted {
			return s
		}
		any = s
	}
	return any
}
