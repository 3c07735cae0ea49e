package callflow

import (
	"github.com/duet-rtc/duet/protocol"
	"github.com/duet-rtc/duet/server/route"
)

// Message is one message for a device, not yet encoded: a call event (Type and Body), or
// the reply to a request (Type protocol.TypeReply, ReplyTo, and Body or Err). Bodies are
// protocol structs, shared between the devices a message goes to: never modify one.
type Message struct {
	Type    string
	ReplyTo string // the request id, for replies
	Body    any
	Err     error // a failed reply; with ReplyTo "" an unsolicited error
}

// Send is a Message on its way to one device.
type Send struct {
	To  route.Device
	Msg Message
}

// Step is everything the engine decided in one go: messages to devices, the live calls that
// changed (as they are now), the calls that ended, and the call events, each in decision
// order. The server makes Saves, Ends and Events durable before it delivers Sends, so that
// no device hears of a step that a crash could undo.
type Step struct {
	Sends  []Send
	Saves  []State
	Ends   []Record
	Events []Event
}

// Durable reports whether the step changed anything that must be stored.
func (s *Step) Durable() bool { return len(s.Saves) > 0 || len(s.Ends) > 0 || len(s.Events) > 0 }

func (s *Step) empty() bool { return len(s.Sends) == 0 && !s.Durable() }

// Output receives the engine's steps. Apply is called under the engine's lock, once for
// every locked section that decided anything, in the order of the decisions: it must not
// block and must not call back into the Engine. The Step is the Output's to keep.
type Output interface {
	Apply(step *Step)
}

// Directory lists the connected devices of a user and tells whether one device is
// connected. The engine calls it under its lock, so it must not block.
type Directory interface {
	route.Directory
	Connected(dev route.Device) bool
}

// send queues msg for to if to is connected, and reports whether it is. A device that is
// not connected is not sent anything (rule 11 and 12 decide what it gets when it returns).
func (e *Engine) send(to route.Device, msg Message) bool {
	if !e.dir.Connected(to) {
		return false
	}
	e.step.Sends = append(e.step.Sends, Send{To: to, Msg: msg})
	return true
}

// reply queues the reply to request rid of dev: body on success, err on failure. A request
// without an id gets no reply when it succeeds and an unsolicited error when it fails.
func (e *Engine) reply(dev route.Device, rid string, body any, err error) {
	if rid == "" && err == nil {
		return
	}
	e.step.Sends = append(e.step.Sends, Send{To: dev, Msg: Message{Type: protocol.TypeReply, ReplyTo: rid, Body: body, Err: err}})
}

func endedMsg(id string, reason protocol.EndReason, by string) Message {
	return Message{Type: protocol.TypeCallEnded, Body: &protocol.CallEnded{CallID: id, Reason: reason, By: by}}
}

func peerMsg(id string, present bool) Message {
	return Message{Type: protocol.TypeCallPeer, Body: &protocol.CallPeer{CallID: id, Present: present}}
}

func ringingMsg(id, device string) Message {
	return Message{Type: protocol.TypeCallRinging, Body: &protocol.CallRinging{CallID: id, Device: device}}
}

func acceptedMsg(id, device string) Message {
	return Message{Type: protocol.TypeCallAccepted, Body: &protocol.CallAccepted{CallID: id, Device: device}}
}

// tellCallees sends msg to every active callee device but skip ("" skips none).
func (e *Engine) tellCallees(c *call, msg Message, skip string) {
	for i := range c.legs {
		if c.active(i) && c.legs[i].device != skip {
			e.send(c.calleeDevice(c.legs[i].device), msg)
		}
	}
}

// tellAll sends msg to every active device of the call.
func (e *Engine) tellAll(c *call, msg Message) {
	e.send(c.callerDevice(), msg)
	e.tellCallees(c, msg, "")
}

// tellOthers sends msg to every active device of the call except from.
func (e *Engine) tellOthers(c *call, msg Message, from route.Device) {
	switch c.role(from) {
	case roleCaller:
		e.tellCallees(c, msg, "")
	case roleCallee:
		e.send(c.callerDevice(), msg)
		e.tellCallees(c, msg, from.ID)
	default:
		e.tellAll(c, msg)
	}
}

// tellSide sends msg to the active devices of side s.
func (e *Engine) tellSide(c *call, s side, msg Message) {
	if s == sideCaller {
		e.send(c.callerDevice(), msg)
		return
	}
	e.tellCallees(c, msg, "")
}
