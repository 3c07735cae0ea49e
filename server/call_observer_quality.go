package server

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/duet-rtc/duet/protocol"
	"github.com/duet-rtc/duet/server/quality"
)

// qualityMetrics are the call metrics that come from the parties' devices (call.quality)
// rather than from the call's steps: the setup as a device saw it, and each party's
// quality score when its call ends.
type qualityMetrics struct {
	firstMedia prometheus.Histogram     // accept → first media, as each device reports it
	mos        prometheus.Histogram     // each reporting party's mean audio score, at the end
	freeze     prometheus.Histogram     // each reporting party's video freeze ratio, video calls
	loss       *prometheus.HistogramVec // each reporting party's mean loss, by direction
}

func newQualityMetrics(reg prometheus.Registerer) qualityMetrics {
	m := qualityMetrics{
		firstMedia: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "duet_call_first_media_seconds",
			Help:    "From the accept to the first media received, as each party's device reports it (call.quality firstMediaMs).",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 13), // 5 ms … 20 s
		}),
		mos: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "duet_call_quality_mos",
			Help:    "Each reporting party's mean audio score (E-model MOS, 1-4.5) of an ended call.",
			Buckets: []float64{1.5, 2, 2.5, 3, 3.5, 3.8, 4, 4.2, 4.4},
		}),
		freeze: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "duet_call_quality_freeze_ratio",
			Help:    "Each reporting party's share of time its received video stood still, ended video calls.",
			Buckets: []float64{0.001, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5},
		}),
		loss: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "duet_call_quality_loss_ratio",
			Help:    "Each reporting party's mean packet loss (0-1) of an ended call, by direction (in: what it received).",
			Buckets: []float64{0.001, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5},
		}, []string{"direction"}),
	}
	reg.MustRegister(m.firstMedia, m.mos, m.freeze, m.loss)
	return m
}

// reported counts what one stored call.quality says of the call's setup.
func (m qualityMetrics) reported(q *protocol.CallQuality) {
	for _, s := range q.Samples {
		if s.FirstMediaMs > 0 {
			m.firstMedia.Observe(float64(s.FirstMediaMs) / 1000)
		}
	}
}

// ended counts an ended call's parties' scores.
func (m qualityMetrics) ended(q *quality.PartyQuality, video bool) {
	if q == nil {
		return
	}
	for _, s := range []*quality.Summary{q.Caller, q.Callee} {
		if s == nil || s.Samples == 0 {
			continue
		}
		m.mos.Observe(s.MOS)
		m.loss.WithLabelValues("in").Observe(s.LossInAvg)
		m.loss.WithLabelValues("out").Observe(s.LossOutAvg)
		if video {
			m.freeze.Observe(s.FreezeRatio)
		}
	}
}
