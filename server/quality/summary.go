package quality

import (
	"github.com/duet-rtc/duet/protocol"
)

// Summary is what one party's samples say about its call, as the call record and the
// operator's console show it.
type Summary struct {
	Samples int `json:"samples"`
	// MOS is the mean of the samples' audio scores (see MOS), MOSMin the worst.
	MOS    float64 `json:"mos"`
	MOSMin float64 `json:"mosMin"`
	// Round trip and loss, mean and worst; loss as fractions (0–1).
	RTTAvgMs   float64 `json:"rttAvgMs"`
	RTTMaxMs   float64 `json:"rttMaxMs"`
	LossInAvg  float64 `json:"lossInAvg"`
	LossInMax  float64 `json:"lossInMax"`
	LossOutAvg float64 `json:"lossOutAvg"`
	LossOutMax float64 `json:"lossOutMax"`
	JitterAvg  float64 `json:"jitterAvgMs"`
	// Video received: freezes, and the share of the covered time the picture stood still.
	Freezes     int     `json:"freezes"`
	FreezeRatio float64 `json:"freezeRatio"`
	// ConcealedMs is the received audio made up for lost packets, in all.
	ConcealedMs int `json:"concealedMs"`
	// StatusMs is the time spent in each network status ("normal", "unstable", "noData").
	StatusMs map[string]int64 `json:"statusMs"`
	// ConnectType is how the device was connected at its last sample.
	ConnectType string `json:"connectType"`
	ICERestarts int    `json:"iceRestarts"`
	// CoveredMs is the time from the first sample to the last.
	CoveredMs int64 `json:"coveredMs"`
}

// Summarize sums up one party's samples, oldest first. The time between two samples counts
// for the later one's network status.
func Summarize(samples []protocol.QualitySample) Summary {
	out := Summary{Samples: len(samples), StatusMs: map[string]int64{}}
	if len(samples) == 0 {
		return out
	}
	var freezeMs int64
	out.MOSMin = 5
	for i, s := range samples {
		mos := MOS(s.RTTMs, s.JitterMs, s.LossIn)
		out.MOS += mos
		out.MOSMin = min(out.MOSMin, mos)
		out.RTTAvgMs += s.RTTMs
		out.RTTMaxMs = max(out.RTTMaxMs, s.RTTMs)
		out.LossInAvg += s.LossIn
		out.LossInMax = max(out.LossInMax, s.LossIn)
		out.LossOutAvg += s.LossOut
		out.LossOutMax = max(out.LossOutMax, s.LossOut)
		out.JitterAvg += s.JitterMs
		out.Freezes += s.Freezes
		freezeMs += int64(s.FreezeMs)
		out.ConcealedMs += s.ConcealedMs
		out.ICERestarts += s.ICERestarts
		if i > 0 {
			out.StatusMs[statusName(s.NetworkStatus)] += max(0, s.At-samples[i-1].At)
		}
	}
	n := float64(len(samples))
	out.MOS /= n
	out.RTTAvgMs /= n
	out.LossInAvg /= n
	out.LossOutAvg /= n
	out.JitterAvg /= n
	out.CoveredMs = samples[len(samples)-1].At - samples[0].At
	if out.CoveredMs > 0 {
		out.FreezeRatio = min(1, float64(freezeMs)/float64(out.CoveredMs))
	}
	out.ConnectType = samples[len(samples)-1].ConnectType.String()
	return out
}

func statusName(s protocol.NetworkStatus) string {
	switch s {
	case protocol.NetworkUnstable:
		return "unstable"
	case protocol.NetworkNoData:
		return "noData"
	}
	return "normal"
}
