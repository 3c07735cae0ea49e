package quality

import (
	"testing"
	"time"

	"github.com/duet-rtc/duet/protocol"
)

const (
	normal   = protocol.NetworkNormal
	unstable = protocol.NetworkUnstable
	noData   = protocol.NetworkNoData
)

// event is one input to a Monitor at an offset from the start: a period end with its
// measurements, or a tick with the time of the last packet (as an offset; -1: none yet).
type event struct {
	at      time.Duration
	tick    bool
	last    time.Duration // tick: when the last packet arrived
	loss    float64       // period: loss percent
	rtt     time.Duration // period: round trip
	want    protocol.NetworkStatus
	changed bool
}

func period(at time.Duration, loss float64, rtt time.Duration, want protocol.NetworkStatus, changed bool) event {
	return event{at: at, loss: loss, rtt: rtt, want: want, changed: changed}
}

func tick(at, last time.Duration, want protocol.NetworkStatus, changed bool) event {
	return event{at: at, tick: true, last: last, want: want, changed: changed}
}

const s = time.Second

func TestMonitor(t *testing.T) {
	ms := time.Millisecond
	for _, c := range []struct {
		name   string
		events []event
	}{
		{"a clean call stays normal", []event{
			tick(500*ms, 480*ms, normal, false),
			period(2*s, 0, 20*ms, normal, false),
			period(4*s, 4, 250*ms, normal, false),
		}},
		{"one bad period is not enough", []event{
			period(2*s, 30, 0, normal, false),
			period(4*s, 0, 0, normal, false),
			period(6*s, 30, 0, normal, false),
			period(8*s, 0, 0, normal, false),
		}},
		{"two bad periods make it unstable, one good period recovers", []event{
			period(2*s, 12, 0, normal, false),
			period(4*s, 0, 500*ms, unstable, true), // RTT counts as much as loss
			period(6*s, 7, 0, unstable, false),     // between good and bad: no recovery
			period(8*s, 30, 0, unstable, false),
			period(10*s, 2, 100*ms, normal, true),
			period(12*s, 11, 0, normal, false), // the bad count starts again from zero
		}},
		{"unknown loss is not bad", []event{
			period(2*s, -1, 0, normal, false),
			period(4*s, -1, 0, normal, false),
		}},
		{"no packets for 3 s is no data", []event{
			tick(2500*ms, 0, normal, false), // nothing yet, but only 2.5 s since the start
			tick(3*s, 0, noData, true),
			tick(3500*ms, 0, noData, false),
			period(4*s, -1, 0, noData, false),
		}},
		{"blackout, then recovery after one whole period with data", []event{
			tick(1*s, 990*ms, normal, false),
			period(2*s, 0, 0, normal, false),
			tick(4500*ms, 1400*ms, noData, true), // last packet at 1.4 s
			period(6*s, 100, 0, noData, false),
			tick(6500*ms, 6400*ms, noData, false), // data is back at 6.4 s
			period(8*s, 60, 0, noData, false),     // this period holds the gap: ignored
			period(10*s, 1, 0, normal, true),      // began 1.6 s after data came back
		}},
		{"the period right after data came back waits for the reports", []event{
			tick(3*s, 0, noData, true),
			tick(5500*ms, 5900*ms, noData, false), // back at 5.9 s
			period(6*s, 90, 0, noData, false),
			period(8*s, 30, 0, noData, false), // began 0.1 s after: the gap's reports may be in it
			period(10*s, 0, 0, normal, true),
		}},
		{"recovery into a bad link is unstable", []event{
			tick(3*s, 0, noData, true),
			tick(3500*ms, 3400*ms, noData, false),
			period(4*s, 0, 0, noData, false),
			period(6*s, 0, 0, noData, false), // began 0.6 s after data came back
			period(8*s, 20, 0, unstable, true),
		}},
		{"data that flickers back and dies again does not recover", []event{
			tick(3*s, 0, noData, true),
			tick(3500*ms, 3400*ms, noData, false), // back at 3.4 s
			tick(7*s, 3500*ms, noData, false),     // gone again since 3.5 s
			period(8*s, 0, 0, noData, false),
			tick(8500*ms, 8400*ms, noData, false),
			period(10*s, 0, 0, noData, false), // data came back inside this period
			period(12*s, 0, 0, normal, true),
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			start := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
			m := NewMonitor(start, DefaultThresholds())
			for i, e := range c.events {
				var got protocol.NetworkStatus
				var changed bool
				if e.tick {
					var last time.Time
					if e.last > 0 {
						last = start.Add(e.last)
					}
					got, changed = m.Tick(start.Add(e.at), last)
				} else {
					got, changed = m.EndPeriod(start.Add(e.at), Period{LossPercent: e.loss, RTT: e.rtt})
				}
				if got != e.want || changed != e.changed {
					t.Fatalf("event %d at %v: %v changed=%v, want %v changed=%v", i, e.at, got, changed, e.want, e.changed)
				}
				if m.Status() != got {
					t.Fatalf("Status %v after returning %v", m.Status(), got)
				}
			}
		})
	}
}
