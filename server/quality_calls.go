package server

import (
	"context"
	"time"

	"github.com/duet-rtc/duet/protocol"
	"github.com/duet-rtc/duet/server/callflow"
	"github.com/duet-rtc/duet/server/quality"
	"github.com/duet-rtc/duet/server/route"
	"github.com/duet-rtc/duet/server/signal"
)

// qualityHandler takes call.quality from the parties of calls in progress and hands every
// other message on. It sits in front of the call flow, where the call's engine is (on a
// node of a cluster: the owner of the call, which the device's node forwards call.* to).
type qualityHandler struct {
	signal.Handler
	svc   *quality.Service
	calls func() *callflow.Engine
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
	return h.svc.Add(ctx, dev, q)
}

// withQuality puts call.quality in front of h, for the calls of the engine calls returns.
func (s *Server) withQuality(h signal.Handler, calls func() *callflow.Engine) signal.Handler {
	return qualityHandler{Handler: h, svc: s.quality, calls: calls}
}
