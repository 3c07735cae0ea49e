package quality

import (
	"time"

	"github.com/duet-rtc/duet/protocol"
)

// Thresholds shape a Monitor. docs/PROTOCOL.md ("Network status (Go SDK)") documents the
// defaults; change both together.
type Thresholds struct {
	// Period is how often the caller ends a measurement period (EndPeriod).
	Period time.Duration
	// NoDataAfter is how long without any RTP or RTCP from the peer makes the status NoData.
	NoDataAfter time.Duration
	// A period is bad when its loss exceeds BadLossPercent or its round trip BadRTT.
	BadLossPercent float64
	BadRTT         time.Duration
	// A period is good when its loss is at most GoodLossPercent and its round trip at most
	// GoodRTT. Between good and bad a period changes nothing (hysteresis).
	GoodLossPercent float64
	GoodRTT         time.Duration
	// BadPeriods in a row turn Normal into Unstable.
	BadPeriods int
	// Settle is how long after data comes back a period must start to end NoData: the
	// peer's first receiver report after a gap (they come every second) still counts the gap
	// as loss, and must not decide how the link is now.
	Settle time.Duration
}

// DefaultThresholds are the documented values.
func DefaultThresholds() Thresholds {
	return Thresholds{
		Period:          2 * time.Second,
		NoDataAfter:     3 * time.Second,
		BadLossPercent:  10,
		BadRTT:          400 * time.Millisecond,
		GoodLossPercent: 5,
		GoodRTT:         300 * time.Millisecond,
		BadPeriods:      2,
		Settle:          time.Second,
	}
}

// Period is what was measured over one period.
type Period struct {
	// LossPercent is the worse of the loss of the media we received and the loss the peer
	// reported for the media we sent, 0–100; negative when unknown (nothing was expected).
	LossPercent float64
	// RTT is the latest round-trip time; 0 when unknown.
	RTT time.Duration
}

// Monitor is the network-status state machine of one call. Normal becomes Unstable after
// BadPeriods bad periods in a row and returns to Normal after one good period; any status
// becomes NoData after NoDataAfter without a packet from the peer, and leaves it after one
// whole period with data that starts Settle after the data came back (to Normal when that
// period was good, else to Unstable).
//
// A Monitor is not safe for concurrent use.
type Monitor struct {
	th        Thresholds
	start     time.Time
	status    protocol.NetworkStatus
	bad       int       // bad periods in a row
	periodAt  time.Time // start of the current period
	noDataAt  time.Time // when NoData began
	resumedAt time.Time // first data after NoData began; zero while none
}

// NewMonitor returns a Monitor in status Normal whose first period and no-data clock start
// at start (media is expected from then on).
func NewMonitor(start time.Time, th Thresholds) *Monitor {
	return &Monitor{th: th, start: start, status: protocol.NetworkNormal, periodAt: start}
}

// Status returns the current status.
func (m *Monitor) Status() protocol.NetworkStatus { return m.status }

// Tick tells the Monitor when the last RTP or RTCP packet from the peer arrived (zero: none
// yet, counted from the start). Call it often (every few hundred milliseconds): NoData is
// detected at the first Tick after NoDataAfter has passed. It returns the status and whether
// this call changed it.
func (m *Monitor) Tick(now, lastReceived time.Time) (protocol.NetworkStatus, bool) {
	if lastReceived.Before(m.start) {
		lastReceived = m.start // nothing yet: silence counts from the start
	}
	if m.status == protocol.NetworkNoData {
		if m.resumedAt.IsZero() && lastReceived.After(m.noDataAt) {
			m.resumedAt = lastReceived
		}
		if !m.resumedAt.IsZero() && now.Sub(lastReceived) >= m.th.NoDataAfter {
			m.resumedAt = time.Time{} // a brief return, gone again: still no data
		}
		return m.status, false
	}
	if now.Sub(lastReceived) >= m.th.NoDataAfter {
		m.status, m.bad = protocol.NetworkNoData, 0
		m.noDataAt, m.resumedAt = now, time.Time{}
		return m.status, true
	}
	return m.status, false
}

// EndPeriod ends the current period with its measurements and starts the next. It returns
// the status and whether this call changed it.
func (m *Monitor) EndPeriod(now time.Time, p Period) (protocol.NetworkStatus, bool) {
	start := m.periodAt
	m.periodAt = now
	bad := p.LossPercent > m.th.BadLossPercent || p.RTT > m.th.BadRTT
	good := p.LossPercent <= m.th.GoodLossPercent && p.RTT <= m.th.GoodRTT
	old := m.status
	switch m.status {
	case protocol.NetworkNoData:
		// Only a period that had data from its start, and late enough that the reports about
		// the gap are in, says how the link is now: the period in which data came back also
		// holds the gap, which reads as heavy loss.
		if m.resumedAt.IsZero() || m.resumedAt.Add(m.th.Settle).After(start) {
			return m.status, false
		}
		m.noDataAt, m.resumedAt = time.Time{}, time.Time{}
		if good {
			m.status = protocol.NetworkNormal
		} else {
			m.status = protocol.NetworkUnstable
		}
	case protocol.NetworkNormal:
		if bad {
			m.bad++
		} else {
			m.bad = 0
		}
		if m.bad >= m.th.BadPeriods {
			m.status = protocol.NetworkUnstable
		}
	case protocol.NetworkUnstable:
		if good {
			m.status, m.bad = protocol.NetworkNormal, 0
		}
	}
	return m.status, m.status != old
}
