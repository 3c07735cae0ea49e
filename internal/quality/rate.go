package quality

import "time"

// Loss-based rate control, the loss half of Google's congestion control (GCC): below 2 %
// loss the rate grows by 8 % per report, above 10 % it shrinks by half the loss, in
// between it holds. Caps from the receiver (SDP bandwidth, REMB) bound it from above.
const (
	lowLoss        = 0.02
	highLoss       = 0.10
	growth         = 1.08
	decreaseHold   = 300 * time.Millisecond // one decrease per burst of reports
	defaultFloor   = 30_000
	defaultCeiling = 2_000_000
)

// RateController decides the target bitrate of a video sender from the loss its receiver
// reports, between a floor and the lowest of its caps. Not safe for concurrent use.
type RateController struct {
	floor, ceiling int // bits per second
	remoteCap      int // from the peer's SDP; 0: none
	remb           int // the peer's latest REMB; 0: none
	target         int
	decreasedAt    time.Time
}

// NewRateController returns a controller that starts at start bits per second and stays
// within minBps (0: 30 kbit/s) and maxBps (0: 2 Mbit/s).
func NewRateController(minBps, maxBps, start int) *RateController {
	if maxBps <= 0 {
		maxBps = defaultCeiling
	}
	if minBps <= 0 {
		minBps = min(defaultFloor, maxBps)
	}
	r := &RateController{floor: min(minBps, maxBps), ceiling: maxBps}
	r.target = r.clamp(start)
	return r
}

// Target returns the current target in bits per second.
func (r *RateController) Target() int { return r.target }

// Max returns the highest rate allowed now: the local maximum or a lower cap of the peer's.
func (r *RateController) Max() int {
	c := r.ceiling
	if r.remoteCap > 0 {
		c = min(c, r.remoteCap)
	}
	if r.remb > 0 {
		c = min(c, r.remb)
	}
	return max(c, r.floor)
}

func (r *RateController) clamp(bps int) int { return min(max(bps, r.floor), r.Max()) }

// SetRemoteCap applies the peer's bandwidth limit from its session description (0: none)
// and returns the new target.
func (r *RateController) SetRemoteCap(bps int) int {
	r.remoteCap = max(bps, 0)
	r.target = r.clamp(r.target)
	return r.target
}

// OnREMB applies a receiver-estimated maximum bitrate and returns the new target.
func (r *RateController) OnREMB(bps int) int {
	r.remb = max(bps, 0)
	r.target = r.clamp(r.target)
	return r.target
}

// OnLoss applies a receiver report's fraction lost (0–1) received at now and returns the
// new target.
func (r *RateController) OnLoss(now time.Time, fraction float64) int {
	switch {
	case fraction < lowLoss:
		r.target = r.clamp(int(float64(r.target)*growth) + 1000)
	case fraction > highLoss:
		if now.Sub(r.decreasedAt) >= decreaseHold {
			r.target = r.clamp(int(float64(r.target) * (1 - 0.5*fraction)))
			r.decreasedAt = now
		}
	}
	return r.target
}
