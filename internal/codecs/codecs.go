// Package codecs is the one codec set duet speaks, Opus and VP8 with fixed payload types, so
// that the SDK's peers and the server's media relay negotiate exactly the same thing.
package codecs

import (
	"fmt"

	"github.com/pion/webrtc/v4"
)

// Payload types and the Opus format line, as browsers use them.
const (
	OpusPayloadType = 111
	VP8PayloadType  = 96
	OpusFmtp        = "minptime=10;useinbandfec=1"
)

// Register adds Opus and VP8 to me. VP8 lists PLI and FIR (a receiver that lost a keyframe
// asks for another), NACK (it asks for lost packets) and REMB, which browsers expect beside them.
func Register(me *webrtc.MediaEngine) error {
	if err := me.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: OpusFmtp,
		},
		PayloadType: OpusPayloadType,
	}, webrtc.RTPCodecTypeAudio); err != nil {
		return fmt.Errorf("register opus: %w", err)
	}
	if err := me.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType: webrtc.MimeTypeVP8, ClockRate: 90000,
			RTCPFeedback: []webrtc.RTCPFeedback{
				{Type: webrtc.TypeRTCPFBGoogREMB},
				{Type: webrtc.TypeRTCPFBCCM, Parameter: "fir"},
				{Type: webrtc.TypeRTCPFBNACK},
				{Type: webrtc.TypeRTCPFBNACK, Parameter: "pli"},
			},
		},
		PayloadType: VP8PayloadType,
	}, webrtc.RTPCodecTypeVideo); err != nil {
		return fmt.Errorf("register vp8: %w", err)
	}
	return nil
}
