package callflow

import (
	"github.com/duet-rtc/duet/protocol"
	"github.com/duet-rtc/duet/server/route"
)

// One envelope may go to several devices: Senders must not modify what they are given.

func endedMsg(id string, reason protocol.EndReason, by string) *protocol.Envelope {
	return protocol.NewMessage(protocol.TypeCallEnded, "", &protocol.CallEnded{CallID: id, Reason: reason, By: by})
}

func peerMsg(id string, present bool) *protocol.Envelope {
	return protocol.NewMessage(protocol.TypeCallPeer, "", &protocol.CallPeer{CallID: id, Present: present})
}

func ringingMsg(id, device string) *protocol.Envelope {
	return protocol.NewMessage(protocol.TypeCallRinging, "", &protocol.CallRinging{CallID: id, Device: device})
}

func acceptedMsg(id, device string) *protocol.Envelope {
	return protocol.NewMessage(protocol.TypeCallAccepted, "", &protocol.CallAccepted{CallID: id, Device: device})
}

// replyFirst sends the reply to request rid through the Sender, so that it reaches the device
// ahead of the events that follow it. Requests without an id get no reply.
func (e *Engine) replyFirst(dev route.Device, rid string, body any) {
	if rid != "" {
		e.send.Send(dev, protocol.NewReply(rid, body))
	}
}

// tellCallees sends env to every active callee device but skip ("" skips none).
func (e *Engine) tellCallees(c *call, env *protocol.Envelope, skip string) {
	for i := range c.legs {
		if c.active(i) && c.legs[i].device != skip {
			e.send.Send(c.calleeDevice(c.legs[i].device), env)
		}
	}
}

// tellAll sends env to every active device of the call.
func (e *Engine) tellAll(c *call, env *protocol.Envelope) {
	e.send.Send(c.callerDevice(), env)
	e.tellCallees(c, env, "")
}

// tellOthers sends env to every active device of the call except from.
func (e *Engine) tellOthers(c *call, env *protocol.Envelope, from route.Device) {
	switch c.role(from) {
	case roleCaller:
		e.tellCallees(c, env, "")
	case roleCallee:
		e.send.Send(c.callerDevice(), env)
		e.tellCallees(c, env, from.ID)
	default:
		e.tellAll(c, env)
	}
}

// tellSide sends env to the active devices of side s.
func (e *Engine) tellSide(c *call, s side, env *protocol.Envelope) {
	if s == sideCaller {
		e.send.Send(c.callerDevice(), env)
		return
	}
	e.tellCallees(c, env, "")
}
