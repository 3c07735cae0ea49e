package callflow

import (
	"github.com/duet-rtc/duet/protocol"
	"github.com/duet-rtc/duet/server/route"
)

// Party is a device's place in a live call, as the media relay needs it.
type Party struct {
	CallID      string
	App         string
	Caller      string // usernames, lower-cased
	Callee      string
	Type        protocol.CallType
	Record      bool
	MergeStream bool
	// IsCaller reports that the device is the caller device; otherwise it is a ringing or
	// the answering callee device.
	IsCaller bool
	// Answered is the answering callee device once the call is accepted, else "".
	Answered string
}

// Party reports dev's place in the live call id: ok only for the caller device and the
// callee devices in the call (ringing, or answering after accept). It takes the engine's
// lock briefly and does no I/O.
func (e *Engine) Party(dev route.Device, id string) (Party, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	c := e.live(dev.App, id)
	if c == nil {
		return Party{}, false
	}
	r := c.role(dev)
	if r != roleCaller && r != roleCallee {
		return Party{}, false
	}
	return Party{
		CallID: c.id, App: c.app, Caller: c.caller, Callee: c.callee, Type: c.typ,
		Record: c.record, MergeStream: c.merge, IsCaller: r == roleCaller, Answered: c.answered,
	}, true
}

// Answered returns the answering callee device of live call id in app, "" while the call
// rings or when it is not live.
func (e *Engine) Answered(app, id string) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if c := e.live(app, id); c != nil && c.state == stateAccepted {
		return c.answered
	}
	return ""
}
