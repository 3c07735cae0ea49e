package media

import "time"

// Bits per pixel per frame below which a picture looks blocky at VP8's highest quantizer,
// and above which a step back up is safe. The gap between them is the hysteresis that keeps
// the adapter from flapping between two levels.
const (
	adaptLowBPP  = 0.02
	adaptHighBPP = 0.035
	// adaptHold is the least time between two changes: rate estimates move every RTCP report
	// (about a second), and every size change costs a keyframe.
	adaptHold = 2 * time.Second
	// adaptMinFPS is the lowest frame rate clarity-first drops to.
	adaptMinFPS = 5
)

// Picture scale levels (numerator over 4) for smoothness-first adaptation.
var adaptScales = []int{4, 3, 2, 1}

// Frame-rate levels (fraction of the cap, in sixths) for clarity-first adaptation.
var adaptRates = []int{6, 4, 3, 2, 1}

// adapter decides how far to lower the picture size or frame rate when the target bitrate
// is too low for the picture: a pure function of its inputs and the time they are given at.
type adapter struct {
	level     int // index into adaptScales or adaptRates
	clarity   bool
	changedAt time.Duration
	started   bool
}

// update returns the picture size and frame rate to encode at time now for a w×h picture at
// up to fps frames per second and a target of bps.
func (a *adapter) update(now time.Duration, bps, w, h, fps int, clarity bool) (int, int, int) {
	if clarity != a.clarity {
		a.clarity, a.level = clarity, 0
	}
	levels := len(adaptScales)
	if clarity {
		levels = len(adaptRates)
	}
	bpp := func(level int) float64 {
		lw, lh, lf := a.apply(level, w, h, fps)
		return float64(bps) / float64(lw*lh*lf)
	}
	if !a.started || now-a.changedAt >= adaptHold {
		switch {
		case bpp(a.level) < adaptLowBPP && a.level+1 < levels:
			a.level++
			a.changedAt = now
		case a.level > 0 && bpp(a.level-1) >= adaptHighBPP:
			a.level--
			a.changedAt = now
		}
		a.started = true
	}
	return a.apply(a.level, w, h, fps)
}

func (a *adapter) apply(level, w, h, fps int) (int, int, int) {
	if a.clarity {
		return w, h, max(fps*adaptRates[level]/6, min(fps, adaptMinFPS))
	}
	s := adaptScales[level]
	return max((w*s/4)&^1, 2), max((h*s/4)&^1, 2), fps
}
