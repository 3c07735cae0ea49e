package protocol

import "math"

// Call quality. While a call is up, each party's device sends the server compact quality
// samples of what it measures (call.quality, a few seconds apart), for the operator's
// per-call timeline and summary (docs/REST.md, "Call quality"). Samples are the device's
// view: "in" is what it receives, "out" what it sends.
const (
	// TypeCallQuality is c→s: CallQuality, samples of a call the device is a party of.
	// A request with an id gets an empty reply; devices usually send it without one.
	TypeCallQuality = "call.quality"
)

// Bounds of quality reports.
const (
	// MaxQualitySamples is how many samples one call.quality may carry.
	MaxQualitySamples = 10
	// MaxQualityKbps bounds every bitrate of a sample (100 Mbit/s).
	MaxQualityKbps = 100_000
	// MaxQualityMs bounds every duration of a sample (round trip, jitter, freezes: 1 min).
	MaxQualityMs = 60_000
)

// QualitySample is one measurement of one device, over the time since its previous sample.
type QualitySample struct {
	// At is when it was measured, unix ms (the device's clock).
	At int64 `json:"at"`
	// RTTMs is the round-trip time to the peer (or the relay).
	RTTMs float64 `json:"rttMs"`
	// LossIn is the fraction (0–1) of the packets sent to this device that it did not get;
	// LossOut the fraction of its own that the other end reported lost.
	LossIn  float64 `json:"lossIn"`
	LossOut float64 `json:"lossOut"`
	// JitterMs is the audio interarrival jitter this device sees.
	JitterMs float64 `json:"jitterMs"`
	// Bitrates in kbit/s.
	AudioKbpsIn  float64 `json:"audioKbpsIn"`
	AudioKbpsOut float64 `json:"audioKbpsOut"`
	VideoKbpsIn  float64 `json:"videoKbpsIn,omitempty"`
	VideoKbpsOut float64 `json:"videoKbpsOut,omitempty"`
	// Video received: frame rate and resolution.
	FPSIn    float64 `json:"fpsIn,omitempty"`
	WidthIn  int     `json:"widthIn,omitempty"`
	HeightIn int     `json:"heightIn,omitempty"`
	// Freezes and FreezeMs: video freezes that began since the previous sample, and how long
	// the picture stood still in all.
	Freezes  int `json:"freezes,omitempty"`
	FreezeMs int `json:"freezeMs,omitempty"`
	// ConcealedMs is how much received audio was concealed (made up for lost packets).
	ConcealedMs int `json:"concealedMs,omitempty"`
	// NetworkStatus is the device's network status (the seed's EMCallNetworkStatus).
	NetworkStatus NetworkStatus `json:"networkStatus"`
	// ConnectType is how the device is connected now.
	ConnectType ConnectType `json:"connectType"`
	// ICERestarts counts the ICE restarts since the previous sample.
	ICERestarts int `json:"iceRestarts,omitempty"`
	// FirstMediaMs is the call's setup as this device saw it: from the accept (sent by the
	// callee's device, received by the caller's) to the first media packet from the peer.
	// A device sends it once, in the first sample after its first media; 0 elsewhere.
	FirstMediaMs int `json:"firstMediaMs,omitempty"`
}

// CallQuality carries a device's samples of one call, oldest first.
type CallQuality struct {
	CallID  string          `json:"callId"`
	Samples []QualitySample `json:"samples"`
}

// Check validates a CallQuality: 1–MaxQualitySamples samples, each with every number in its
// range (fractions 0–1, bitrates, durations and counts bounded and never negative, known
// enums), in time order.
func (c *CallQuality) Check() error {
	if err := checkCallID(c.CallID); err != nil {
		return err
	}
	if len(c.Samples) == 0 || len(c.Samples) > MaxQualitySamples {
		return NewError(CodeBadMessage, "call.quality carries 1-%d samples", MaxQualitySamples)
	}
	for i := range c.Samples {
		if err := c.Samples[i].check(); err != nil {
			return err
		}
		if i > 0 && c.Samples[i].At < c.Samples[i-1].At {
			return NewError(CodeBadMessage, "samples must be in time order")
		}
	}
	return nil
}

func (s *QualitySample) check() error {
	if s.At <= 0 {
		return NewError(CodeBadMessage, "sample at must be unix ms")
	}
	in := func(v, hi float64) bool { return !math.IsNaN(v) && v >= 0 && v <= hi }
	switch {
	case !in(s.LossIn, 1) || !in(s.LossOut, 1):
		return NewError(CodeBadMessage, "loss is a fraction from 0 to 1")
	case !in(s.RTTMs, MaxQualityMs) || !in(s.JitterMs, MaxQualityMs):
		return NewError(CodeBadMessage, "rttMs and jitterMs must be 0-%d", MaxQualityMs)
	case !in(s.AudioKbpsIn, MaxQualityKbps) || !in(s.AudioKbpsOut, MaxQualityKbps) ||
		!in(s.VideoKbpsIn, MaxQualityKbps) || !in(s.VideoKbpsOut, MaxQualityKbps):
		return NewError(CodeBadMessage, "bitrates must be 0-%d kbit/s", MaxQualityKbps)
	case !in(s.FPSIn, 240) || s.WidthIn < 0 || s.WidthIn > 8192 || s.HeightIn < 0 || s.HeightIn > 8192:
		return NewError(CodeBadMessage, "fpsIn 0-240, widthIn and heightIn 0-8192")
	case s.Freezes < 0 || s.Freezes > 10_000 || s.FreezeMs < 0 || s.FreezeMs > MaxQualityMs ||
		s.ConcealedMs < 0 || s.ConcealedMs > MaxQualityMs || s.ICERestarts < 0 || s.ICERestarts > 100 ||
		s.FirstMediaMs < 0 || s.FirstMediaMs > MaxQualityMs:
		return NewError(CodeBadMessage, "freezes, freezeMs, concealedMs, iceRestarts and firstMediaMs out of range")
	case s.NetworkStatus < NetworkNormal || s.NetworkStatus > NetworkNoData:
		return NewError(CodeBadMessage, "unknown networkStatus %d", s.NetworkStatus)
	case s.ConnectType < ConnectNone || s.ConnectType > ConnectRelay:
		return NewError(CodeBadMessage, "unknown connectType %d", s.ConnectType)
	}
	return nil
}
