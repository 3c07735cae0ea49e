package callflow

import (
	"github.com/duet-rtc/duet/protocol"
	"github.com/duet-rtc/duet/server/route"
)

// maxResume bounds the resumed call ids looked at, as protocol.Hello.Check does.
const maxResume = 8

// DeviceOffline handles a lost connection (rule 11). A ringing callee device just stops
// ringing; the caller device or the answering device starts the reconnect grace, and the
// other party is told call.peer{present:false}.
func (e *Engine) DeviceOffline(dev route.Device) {
	if e.closed.Load() {
		return
	}
	e.lock()
	defer e.unlock()
	c := e.byUser[userKey{dev.App, dev.User}]
	if c == nil {
		return
	}
	switch c.role(dev) {
	case roleCaller:
		e.leave(c, sideCaller)
	case roleCallee:
		if c.state == stateAccepted {
			e.leave(c, sideCallee)
			return
		}
		c.legs[c.leg(dev.ID)].ringing = false
	}
}

// DeviceOnline handles a (re)connected device (rules 12 and 13): it ends the grace of a
// returning party, rings a callee device that is not ringing yet, and answers every call id
// in resume that the device is no longer in with call.ended. Calling it again for a device
// that is already in order changes nothing.
func (e *Engine) DeviceOnline(dev route.Online, resume []string) {
	if e.closed.Load() {
		return
	}
	e.lock()
	defer e.unlock()
	c := e.byUser[userKey{dev.App, dev.User}]
	if c != nil {
		e.rejoin(c, dev)
	}
	if len(resume) > maxResume {
		resume = resume[:maxResume]
	}
	for _, id := range resume {
		if c != nil && id == c.id {
			if r := c.role(dev.Device); r == roleCaller || r == roleCallee {
				continue
			}
		}
		reason, by := e.staleEnd(dev.Device, id)
		e.send(dev.Device, endedMsg(id, reason, by))
	}
}

// rejoin brings dev back into c, or rings it if it is a callee device not ringing yet.
func (e *Engine) rejoin(c *call, dev route.Online) {
	switch c.role(dev.Device) {
	case roleCaller:
		e.back(c, sideCaller)
		e.replayCaller(c)
	case roleCallee:
		if c.state == stateAccepted {
			e.back(c, sideCallee)
			if c.replayAccept {
				c.replayAccept = !e.send(dev.Device, acceptedMsg(c.id, c.answered))
			}
		}
	default:
		if dev.User == c.callee && c.state == stateRinging && !c.pushing && canTake(c.typ, dev.Capabilities) {
			e.ring(c, dev.ID)
		}
	}
}

// leave starts the grace for side s, whose device lost its connection.
func (e *Engine) leave(c *call, s side) {
	if c.away[s] {
		return
	}
	c.away[s] = true
	e.touch(c)
	e.armGrace(c, s)
	e.tellSide(c, 1-s, peerMsg(c.id, false))
}

// back ends the grace for side s, whose device came back, and tells both devices where
// their peer stands.
func (e *Engine) back(c *call, s side) {
	if !c.away[s] {
		return
	}
	c.away[s] = false
	e.touch(c)
	c.grace[s].stop()
	e.tellSide(c, 1-s, peerMsg(c.id, true))
	if c.away[1-s] {
		e.tellSide(c, s, peerMsg(c.id, false))
	}
}

// replayCaller resends to the caller device what it missed while it could not be reached:
// call.ringing for devices that still ring, call.accepted.
func (e *Engine) replayCaller(c *call) {
	to := c.callerDevice()
	for i := range c.legs {
		if l := &c.legs[i]; l.missed && l.ringing {
			l.missed = !e.send(to, ringingMsg(c.id, l.device))
		}
	}
	if c.missedAccept {
		c.missedAccept = !e.send(to, acceptedMsg(c.id, c.answered))
	}
}

// staleEnd says how a call that dev resumes but is not in ended for it: with the recorded
// reason when the call is remembered, answered-elsewhere for a callee device that another
// device beat, and Failed when nothing is known.
func (e *Engine) staleEnd(dev route.Device, id string) (protocol.EndReason, string) {
	if c := e.live(dev.App, id); c != nil {
		if c.state == stateAccepted && c.role(dev) == roleFormer {
			return protocol.EndAnsweredElsewhere, ""
		}
		return protocol.EndFailed, ""
	}
	ec, ok := e.recent.get(id, e.now())
	if !ok || !ec.party(dev) {
		return protocol.EndFailed, ""
	}
	if dev.User == ec.callee && ec.answered != "" && dev.ID != ec.answered {
		return protocol.EndAnsweredElsewhere, ""
	}
	return ec.reason, ec.by
}
