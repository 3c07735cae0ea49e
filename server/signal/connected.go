package signal

import "github.com/duet-rtc/duet/server/route"

// Connected reports whether dev has a connection that is not being closed: what Send would
// deliver to now. The call flow asks it, under its lock, before it queues a message.
func (h *Hub) Connected(dev route.Device) bool {
	h.mu.RLock()
	defer h.mu.RUnlock()
	c := h.lookupLocked(dev)
	return c != nil && !c.closing.Load()
}
