package callflow

import (
	"github.com/duet-rtc/duet/protocol"
	"github.com/duet-rtc/duet/server/route"
)

// The requests a device sends about calls, decoded. Each takes the request id rid ("" when
// the device wants no reply on success) and puts its reply in the Step, in order with the
// messages it causes: a successful invite's reply reaches the caller before call.ringing
// or call.ended. Bodies are checked by the protocol package before they get here.

// refused replies CodeServerShutdown to a request that reaches a closed engine.
func (e *Engine) refused(dev route.Device, rid string) bool {
	if !e.closed.Load() {
		return false
	}
	e.reply(dev, rid, nil, errShutdown)
	return true
}

// Answer accepts a ringing call for the callee device that answers first (rule 5).
func (e *Engine) Answer(dev route.Device, rid, callID string) {
	e.lock()
	defer e.unlock()
	if e.refused(dev, rid) {
		return
	}
	c := e.live(dev.App, callID)
	if c == nil || c.state != stateRinging || c.role(dev) != roleCallee {
		e.reply(dev, rid, nil, errInvalidID)
		return
	}
	e.accept(c, dev.ID)
	e.reply(dev, rid, nil, nil)
}

// End ends a call at a party's request (rule 6). It is idempotent: a party ending a call
// that already ended, or a callee device that no longer rings, gets ok and changes nothing.
func (e *Engine) End(dev route.Device, rid string, req protocol.CallEnd) {
	e.lock()
	defer e.unlock()
	if e.refused(dev, rid) {
		return
	}
	e.reply(dev, rid, nil, e.end(dev, req))
}

func (e *Engine) end(dev route.Device, req protocol.CallEnd) error {
	c := e.live(dev.App, req.CallID)
	if c == nil {
		if ec, ok := e.recent.get(req.CallID, e.now()); ok && ec.party(dev) {
			return nil
		}
		return errInvalidID
	}
	switch c.role(dev) {
	case roleCaller, roleCallee:
		e.tellOthers(c, endedMsg(c.id, req.Reason, dev.User), dev)
		e.finish(c, req.Reason, dev.User)
		return nil
	case roleFormer:
		return nil
	}
	return errInvalidID
}

// Connect notes that a device's transport is up (rule 9): the first report sets
// ConnectedAt, the latest sets ConnectType. Nothing is relayed.
func (e *Engine) Connect(dev route.Device, rid string, cn protocol.CallConnect) {
	e.lock()
	defer e.unlock()
	if e.refused(dev, rid) {
		return
	}
	c := e.live(dev.App, cn.CallID)
	if c == nil {
		e.reply(dev, rid, nil, errInvalidID)
		return
	}
	if r := c.role(dev); r != roleCaller && r != roleCallee {
		e.reply(dev, rid, nil, errInvalidID)
		return
	}
	if c.connectType != cn.ConnectType {
		c.connectType = cn.ConnectType
		e.touch(c)
	}
	if c.connectedAt.IsZero() {
		c.connectedAt = e.now()
		e.emit(c, EventConnected, func(ev *Event) { ev.ConnectType = cn.ConnectType })
	}
	e.reply(dev, rid, nil, nil)
}

// Signal relays an SDP or candidate between the caller device and one callee device
// (rule 8), naming the sender's device in Device.
func (e *Engine) Signal(dev route.Device, rid string, sig protocol.CallSignal) {
	e.lock()
	defer e.unlock()
	if e.refused(dev, rid) {
		return
	}
	to, ok := e.signalTarget(dev, sig.CallID, sig.Device)
	if !ok {
		e.reply(dev, rid, nil, errInvalidID)
		return
	}
	sig.Device = dev.ID
	e.send(to, Message{Type: protocol.TypeCallSignal, Body: &sig})
	e.reply(dev, rid, nil, nil)
}

// signalTarget returns where a signal from dev goes: from the caller to the named ringing (or
// answering) callee device, from a callee device to the caller.
func (e *Engine) signalTarget(dev route.Device, id, target string) (route.Device, bool) {
	c := e.live(dev.App, id)
	if c == nil {
		return route.Device{}, false
	}
	switch c.role(dev) {
	case roleCaller:
		if i := c.leg(target); i >= 0 && c.active(i) {
			return c.calleeDevice(target), true
		}
	case roleCallee:
		return c.callerDevice(), true
	}
	return route.Device{}, false
}

// Stream relays a pause or resume between the two devices of an accepted call (rule 10).
func (e *Engine) Stream(dev route.Device, rid string, st protocol.CallStream) {
	e.lock()
	defer e.unlock()
	if e.refused(dev, rid) {
		return
	}
	to, ok := e.peerOf(dev, st.CallID)
	if !ok {
		e.reply(dev, rid, nil, errInvalidID)
		return
	}
	e.send(to, Message{Type: protocol.TypeCallStream, Body: &st})
	e.reply(dev, rid, nil, nil)
}

// peerOf returns the other device of an accepted call dev is in.
func (e *Engine) peerOf(dev route.Device, id string) (route.Device, bool) {
	c := e.live(dev.App, id)
	if c == nil || c.state != stateAccepted {
		return route.Device{}, false
	}
	switch c.role(dev) {
	case roleCaller:
		return c.calleeDevice(c.answered), true
	case roleCallee:
		return c.callerDevice(), true
	}
	return route.Device{}, false
}
