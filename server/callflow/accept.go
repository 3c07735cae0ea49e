package callflow

import "github.com/duet-rtc/duet/protocol"

// accept makes callee device id the answering device: call.accepted to the caller and to it,
// answered-elsewhere to the other ringing devices.
func (e *Engine) accept(c *call, id string) {
	c.state = stateAccepted
	c.answered = id
	c.acceptedAt = e.now()
	c.ring.stop()
	e.emit(c, EventAccepted, func(ev *Event) { ev.Device = id })
	acc := acceptedMsg(c.id, id)
	c.missedAccept = !e.send(c.callerDevice(), acc)
	e.send(c.calleeDevice(id), acc)
	var elsewhere Message
	for i := range c.legs {
		l := &c.legs[i]
		if l.ringing && l.device != id {
			if elsewhere.Body == nil {
				elsewhere = endedMsg(c.id, protocol.EndAnsweredElsewhere, "")
			}
			e.send(c.calleeDevice(l.device), elsewhere)
		}
		l.ringing = false
	}
	if c.away[sideCaller] {
		e.send(c.calleeDevice(id), peerMsg(c.id, false))
	}
}
