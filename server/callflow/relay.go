package callflow

import (
	"github.com/duet-rtc/duet/protocol"
	"github.com/duet-rtc/duet/server/route"
)

// The relays (signal, stream) pick their target under the lock but encode and send after it:
// bodies may be large SDPs, and a connection's messages are handled one at a time, so order
// from one sender is kept anyway.

// handleSignal relays an SDP or candidate between the caller device and one callee device
// (rule 8), naming the sender's device in Device.
func (e *Engine) handleSignal(dev route.Device, env *protocol.Envelope) error {
	var sig protocol.CallSignal
	if err := env.DecodeData(&sig); err != nil {
		return err
	}
	e.mu.Lock()
	to, ok := e.signalTarget(dev, sig.CallID, sig.Device)
	e.mu.Unlock()
	if !ok {
		return errInvalidID
	}
	sig.Device = dev.ID
	e.send.Send(to, protocol.NewMessage(protocol.TypeCallSignal, "", &sig))
	return nil
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

// handleStream relays a pause or resume between the two devices of an accepted call (rule 10).
func (e *Engine) handleStream(dev route.Device, env *protocol.Envelope) error {
	var st protocol.CallStream
	if err := env.DecodeData(&st); err != nil {
		return err
	}
	e.mu.Lock()
	to, ok := e.peerOf(dev, st.CallID)
	e.mu.Unlock()
	if !ok {
		return errInvalidID
	}
	e.send.Send(to, protocol.NewMessage(protocol.TypeCallStream, "", &st))
	return nil
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

// handleConnect notes that a device's transport is up (rule 9): the first report sets
// ConnectedAt, the latest sets ConnectType. Nothing is relayed.
func (e *Engine) handleConnect(dev route.Device, env *protocol.Envelope) error {
	var cn protocol.CallConnect
	if err := env.DecodeData(&cn); err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	c := e.live(dev.App, cn.CallID)
	if c == nil {
		return errInvalidID
	}
	if r := c.role(dev); r != roleCaller && r != roleCallee {
		return errInvalidID
	}
	c.connectType = cn.ConnectType
	if c.connectedAt.IsZero() {
		c.connectedAt = e.now()
		e.emit(c, EventConnected, func(ev *Event) { ev.ConnectType = cn.ConnectType })
	}
	return nil
}
