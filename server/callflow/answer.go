package callflow

import (
	"github.com/duet-rtc/duet/protocol"
	"github.com/duet-rtc/duet/server/route"
)

// handleAnswer accepts a ringing call for the callee device that answers first (rule 5).
func (e *Engine) handleAnswer(dev route.Device, env *protocol.Envelope) error {
	var ref protocol.CallRef
	if err := env.DecodeData(&ref); err != nil {
		return err
	}
	e.mu.Lock()
	defer e.unlock()
	c := e.live(dev.App, ref.CallID)
	if c == nil || c.state != stateRinging || c.role(dev) != roleCallee {
		return errInvalidID
	}
	e.accept(c, dev.ID)
	return nil
}

// accept makes callee device id the answering device: call.accepted to the caller and to it,
// answered-elsewhere to the other ringing devices.
func (e *Engine) accept(c *call, id string) {
	c.state = stateAccepted
	c.answered = id
	c.acceptedAt = e.now()
	c.ring.stop()
	e.emit(c, EventAccepted, func(ev *Event) { ev.Device = id })
	acc := acceptedMsg(c.id, id)
	c.missedAccept = !e.send.Send(c.callerDevice(), acc)
	e.send.Send(c.calleeDevice(id), acc)
	var elsewhere *protocol.Envelope
	for i := range c.legs {
		l := &c.legs[i]
		if l.ringing && l.device != id {
			if elsewhere == nil {
				elsewhere = endedMsg(c.id, protocol.EndAnsweredElsewhere, "")
			}
			e.send.Send(c.calleeDevice(l.device), elsewhere)
		}
		l.ringing = false
	}
	if c.away[sideCaller] {
		e.send.Send(c.calleeDevice(id), peerMsg(c.id, false))
	}
}
