package callflow

import (
	"github.com/duet-rtc/duet/protocol"
	"github.com/duet-rtc/duet/server/route"
)

// handleEnd ends a call at a party's request (rule 6). It is idempotent: a party ending a
// call that already ended, or a callee device that no longer rings, gets ok and changes
// nothing.
func (e *Engine) handleEnd(dev route.Device, env *protocol.Envelope) error {
	var req protocol.CallEnd
	if err := env.DecodeData(&req); err != nil {
		return err
	}
	e.mu.Lock()
	defer e.unlock()
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
