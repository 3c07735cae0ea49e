package server

import (
	"context"
	"time"

	"github.com/duet-rtc/duet/protocol"
	"github.com/duet-rtc/duet/server/callflow"
	"github.com/duet-rtc/duet/server/quality"
	"github.com/duet-rtc/duet/server/route"
	"github.com/duet-rtc/duet/server/signal"
	"github.com/duet-rtc/duet/server/webhook"
)

// qualityHandler takes call.quality from the parties of calls in progress and hands every
// other message on. It sits in front of the call flow, where the call's engine is (on a
// node of a cluster: the owner of the call, which the device's node forwards call.* to).
type qualityHandler struct {
	signal.Handler
	svc   *quality.Service
	calls func() *callflow.Engine
	// stored is told of every call.quality stored (for the metrics).
	stored func(*protocol.CallQuality)
}

func (h qualityHandler) HandleMessage(dev route.Device, env *protocol.Envelope) *protocol.Envelope {
	if env == nil || env.Type != protocol.TypeCallQuality {
		return h.Handler.HandleMessage(dev, env)
	}
	if err := h.add(dev, env); err != nil {
		return protocol.NewErrorReply(env.ID, err)
	}
	if env.ID == "" {
		return nil
	}
	return protocol.NewReply(env.ID, nil)
}

func (h qualityHandler) add(dev route.Device, env *protocol.Envelope) error {
	var q protocol.CallQuality
	if err := env.DecodeData(&q); err != nil {
		return err
	}
	// Only a party's device of a call in progress reports on it; samples of other devices,
	// other apps or calls that ended are refused and never stored.
	if _, ok := h.calls().Party(dev, q.CallID); !ok {
		return protocol.NewError(protocol.CodeCallInvalidID, "no such call for this device")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.svc.Add(ctx, dev, q); err != nil {
		return err
	}
	h.stored(&q)
	return nil
}

// withQuality puts call.quality in front of h, for the calls of the engine calls returns.
func (s *Server) withQuality(h signal.Handler, calls func() *callflow.Engine) signal.Handler {
	return qualityHandler{Handler: h, svc: s.quality, calls: calls, stored: s.observer.quality.reported}
}

// recordQuality puts the parties' quality summaries on the record of an ended call, for
// its call.ended webhook. It runs as the end is committed: it reads the store only for the
// calls this node took samples of, so the many calls nobody reports on cost nothing. A
// sample still on its way when the end is decided is in the REST record, not the webhook's.
func (s *Server) recordQuality(app string, rec *webhook.CallRecord) {
	if !s.quality.Reported(app, rec.ID) {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	q, err := s.quality.Parties(ctx, app, rec.ID, rec.Caller, rec.Callee, 0) // not settled: no cache
	if err != nil {
		s.cfg.Logger.Error("quality: the ended call's summary was not read", "app", app, "call", rec.ID, "err", err)
		return
	}
	rec.Quality = q
	s.observer.quality.ended(q, rec.Type == int(protocol.CallVideo))
}
