package server

import (
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/duet-rtc/duet/server/callflow"
)

// callObserver turns the call events of every stored step into what an operator reads:
// one log line per invite, accept and end (with the ids to grep, the reason, the duration
// and how the call connected) and the call metrics of /metrics. It sees events only once
// they are durable, so neither counts a step that a crash undid.
type callObserver struct {
	log *slog.Logger

	started   *prometheus.CounterVec   // by type
	ended     *prometheus.CounterVec   // by reason and type
	connected *prometheus.CounterVec   // by connect type
	setup     prometheus.Histogram     // invite → accept
	duration  *prometheus.HistogramVec // accept → end, answered calls, by type
	ringing   prometheus.Histogram     // invite → first ring
	webhooks  *prometheus.CounterVec   // webhook attempts by outcome
	pushes    *prometheus.CounterVec   // call pushes by outcome
	quality   qualityMetrics           // what the parties' devices report (call_observer_quality.go)
}

func newCallObserver(log *slog.Logger, reg prometheus.Registerer) *callObserver {
	o := &callObserver{
		log: log,
		started: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "duet_calls_started_total", Help: "Calls invited (given an id), by type.",
		}, []string{"type"}),
		ended: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "duet_calls_ended_total", Help: "Calls ended, by end reason and type.",
		}, []string{"reason", "type"}),
		connected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "duet_calls_connected_total", Help: "Calls whose first device reported its transport up, by how it connected.",
		}, []string{"connect_type"}),
		ringing: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "duet_call_ring_seconds", Help: "From the invite to the first callee device ringing.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14), // 1 ms … 8 s
		}),
		setup: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "duet_call_setup_seconds", Help: "From the invite to the answer, answered calls.",
			Buckets: []float64{0.25, 0.5, 1, 2, 3, 5, 8, 13, 21, 34, 55},
		}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "duet_call_duration_seconds", Help: "From the answer to the end, answered calls, by type.",
			Buckets: []float64{5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200},
		}, []string{"type"}),
	}
	o.webhooks = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "duet_webhook_attempts_total", Help: "Webhook delivery attempts, by outcome: delivered, retry, dead.",
	}, []string{"outcome"})
	o.pushes = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "duet_call_pushes_total", Help: "Offline pushes of invites, by outcome: sent (a provider accepted one) or failed.",
	}, []string{"outcome"})
	reg.MustRegister(o.started, o.ended, o.connected, o.ringing, o.setup, o.duration, o.webhooks, o.pushes)
	o.quality = newQualityMetrics(reg)
	return o
}

// webhookOutcome counts one webhook attempt (webhook.Config.Outcome).
func (o *callObserver) webhookOutcome(outcome string) { o.webhooks.WithLabelValues(outcome).Inc() }

// pushed counts one invite push.
func (o *callObserver) pushed(ok bool) {
	if ok {
		o.pushes.WithLabelValues("sent").Inc()
	} else {
		o.pushes.WithLabelValues("failed").Inc()
	}
}

// observe logs and counts the events of one stored batch.
func (o *callObserver) observe(evs []callflow.Event) {
	for i := range evs {
		ev := &evs[i]
		typ := ev.Type.String()
		switch ev.Kind {
		case callflow.EventInvited:
			o.started.WithLabelValues(typ).Inc()
			o.log.Info("call invited", "call", ev.CallID, "app", ev.App, "caller", ev.Caller,
				"callerDevice", ev.CallerDevice, "callee", ev.Callee, "type", typ)
		case callflow.EventRinging:
			o.log.Debug("call ringing", "call", ev.CallID, "device", ev.Device)
		case callflow.EventOffline:
			o.log.Info("call pushed to an offline callee", "call", ev.CallID, "app", ev.App, "callee", ev.Callee)
		case callflow.EventConnected:
			o.connected.WithLabelValues(ev.ConnectType.String()).Inc()
			o.log.Debug("call connected", "call", ev.CallID, "connectType", ev.ConnectType.String())
		case callflow.EventAccepted:
			o.log.Info("call accepted", "call", ev.CallID, "app", ev.App, "callee", ev.Callee, "device", ev.Device)
		case callflow.EventEnded:
			o.endedCall(ev)
		}
	}
}

func (o *callObserver) endedCall(ev *callflow.Event) {
	typ := ev.Type.String()
	o.ended.WithLabelValues(ev.Reason.String(), typ).Inc()
	attrs := []any{"call", ev.CallID, "app", ev.App, "caller", ev.Caller, "callee", ev.Callee, "type", typ,
		"reason", ev.Reason.String(), "endedBy", ev.By}
	if r := ev.Record; r != nil {
		if !r.RingingAt.IsZero() {
			o.ringing.Observe(r.RingingAt.Sub(r.InvitedAt).Seconds())
		}
		if !r.AcceptedAt.IsZero() {
			o.setup.Observe(r.AcceptedAt.Sub(r.InvitedAt).Seconds())
			talk := r.EndedAt.Sub(r.AcceptedAt)
			o.duration.WithLabelValues(typ).Observe(talk.Seconds())
			attrs = append(attrs, "duration", talk.Round(1e6).String(), "device", r.CalleeDevice)
		}
		attrs = append(attrs, "connectType", r.ConnectType.String(), "recorded", r.Record)
	}
	o.log.Info("call ended", attrs...)
}
