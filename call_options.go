package duet

import (
	"fmt"

	"github.com/duet-rtc/duet/protocol"
)

// VideoResolution is EMCallVideoResolution.
type VideoResolution int

// Video resolutions with the seed's numbers.
const (
	VideoResolutionAdaptive VideoResolution = 0
	VideoResolution352x288  VideoResolution = 1
	VideoResolution640x480  VideoResolution = 2
	VideoResolution1280x720 VideoResolution = 3
	VideoResolutionCustom   VideoResolution = 4
)

// CallOptions are EMCallOptions: per-client settings applied to every call it makes or
// answers. Zero values mean the seed's defaults (see DefaultCallOptions).
type CallOptions struct {
	// PingInterval in seconds: the device heartbeat, 10-3600; 0 keeps Options.PingInterval.
	// A shorter interval than the connection's takes effect at the next ping, a longer one
	// at the next connection (the server grants it in welcome).
	PingInterval int
	// IsSendPushIfOffline asks the server to push to an offline callee and keep ringing.
	IsSendPushIfOffline bool
	// OfflineMessageText is the push text for an offline callee.
	OfflineMessageText string
	// VideoResolution caps the size of video the SDK encodes: larger pictures are scaled
	// down to fit, keeping their aspect ratio. Adaptive and Custom keep the source's size.
	VideoResolution VideoResolution
	// MaxVideoKbps caps the video bitrate: 50–5000, or 0 for adaptive (600 kbit/s at the
	// start, up to 2 Mbit/s). It sets the VP8 encoder the SDK runs (custom video,
	// media.TestPattern) and is asked of the peer (SDP b=AS/b=TIAS, REMB); a peer's lower
	// limit lowers ours, and loss lowers the rate further (down to MinVideoKbps).
	MaxVideoKbps int
	// MinVideoKbps is the floor of adaptive video bitrate; 0 for none.
	MinVideoKbps int
	// MaxVideoFrameRate caps the frame rate of video the SDK encodes; 0 for the source's
	// rate (custom video: 30).
	MaxVideoFrameRate int
	// MaxAudioKbps caps the audio bitrate: 6–510, default 32. It sets the Opus encoders the
	// SDK runs (custom audio, media.Tone) and is asked of the peer (SDP b=AS and
	// maxaveragebitrate); a peer's lower limit lowers ours.
	MaxAudioKbps int
	// EnableCustomizeVideoData lets the app feed its own frames (InputVideoFrame) instead
	// of MediaOptions.VideoSource. Needs the vpx build tag.
	EnableCustomizeVideoData bool
	// EnableReportQuality turns on the statistics (refreshed every 2 s) and
	// CallNetworkDidChange; docs/PROTOCOL.md documents the thresholds.
	EnableReportQuality bool
	// EnableCustomAudioData lets the app feed its own PCM (InputCustomAudioData) instead of
	// MediaOptions.AudioSource.
	EnableCustomAudioData bool
	// AudioCustomSamples is the custom PCM sample rate; default 48000.
	AudioCustomSamples int
	// AudioCustomChannels must be 1.
	AudioCustomChannels int
	// IsClarityFirst keeps the resolution and drops the frame rate when the bitrate is too
	// low for the picture; otherwise the SDK scales the picture down and keeps the rate.
	IsClarityFirst bool
}

// DefaultCallOptions returns the seed's defaults.
func DefaultCallOptions() CallOptions {
	return CallOptions{
		PingInterval:        30,
		OfflineMessageText:  "You have incoming call...",
		VideoResolution:     VideoResolutionAdaptive,
		MaxAudioKbps:        32,
		AudioCustomSamples:  48000,
		AudioCustomChannels: 1,
	}
}

// Validate checks every range the seed documents and returns a coded error naming the
// first field out of range.
func (o CallOptions) Validate() error {
	bad := func(format string, args ...any) error {
		return &Error{Code: protocol.CodeUserIllegalArgument, Message: fmt.Sprintf(format, args...)}
	}
	switch {
	case o.PingInterval != 0 && (o.PingInterval < 10 || o.PingInterval > 3600):
		return bad("pingInterval %d: must be 10-3600 seconds", o.PingInterval)
	case o.MaxVideoKbps != 0 && (o.MaxVideoKbps < 50 || o.MaxVideoKbps > 5000):
		return bad("maxVideoKbps %d: must be 0 (adaptive) or 50-5000", o.MaxVideoKbps)
	case o.MinVideoKbps < 0 || o.MinVideoKbps > 5000 || (o.MaxVideoKbps != 0 && o.MinVideoKbps > o.MaxVideoKbps):
		return bad("minVideoKbps %d: must be 0-maxVideoKbps (at most 5000)", o.MinVideoKbps)
	case len(o.OfflineMessageText) > protocol.MaxExtBytes:
		return bad("offlineMessageText of %d bytes: at most %d", len(o.OfflineMessageText), protocol.MaxExtBytes)
	case o.MaxVideoFrameRate < 0 || o.MaxVideoFrameRate > 60:
		return bad("maxVideoFrameRate %d: must be 0-60", o.MaxVideoFrameRate)
	case o.MaxAudioKbps != 0 && (o.MaxAudioKbps < 6 || o.MaxAudioKbps > 510):
		return bad("maxAudioKbps %d: must be 6-510", o.MaxAudioKbps)
	case o.VideoResolution < VideoResolutionAdaptive || o.VideoResolution > VideoResolutionCustom:
		return bad("videoResolution %d: unknown", o.VideoResolution)
	case o.AudioCustomChannels != 0 && o.AudioCustomChannels != 1:
		return bad("audioCustomChannels %d: must be 1", o.AudioCustomChannels)
	case o.AudioCustomSamples != 0 && !opusRate(o.AudioCustomSamples):
		return bad("audioCustomSamples %d: must be 8000, 12000, 16000, 24000 or 48000 (the rates Opus encodes)", o.AudioCustomSamples)
	}
	return nil
}

func opusRate(hz int) bool {
	switch hz {
	case 8000, 12000, 16000, 24000, 48000:
		return true
	}
	return false
}

// StartCallOption adds an optional setting to one StartCall.
type StartCallOption func(*startCallConfig)

type startCallConfig struct {
	record, merge bool
}

// WithRecord asks the server to record the call; merge also composes both parties into
// one file (the seed's startCall:remoteName:record:mergeStream:).
func WithRecord(merge bool) StartCallOption {
	return func(c *startCallConfig) { c.record, c.merge = true, merge }
}
