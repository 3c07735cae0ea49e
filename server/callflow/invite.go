package callflow

import (
	"log/slog"
	"strings"

	"github.com/duet-rtc/duet/protocol"
	"github.com/duet-rtc/duet/server/route"
)

// handleInvite runs rules 1–4 and 7 of the package doc. The callee lookup, the id and the
// ICE servers are done before the lock; the Pusher runs between two locked sections.
func (e *Engine) handleInvite(dev route.Device, env *protocol.Envelope) *protocol.Envelope {
	var inv protocol.CallInvite
	if err := env.DecodeData(&inv); err != nil {
		return protocol.NewErrorReply(env.ID, err)
	}
	callee := protocol.NormalizeUsername(inv.To)
	if strings.EqualFold(callee, dev.User) {
		return protocol.NewErrorReply(env.ID, protocol.NewError(protocol.CodeCallSelf, "cannot call yourself"))
	}
	if err := e.checkUser(dev.App, callee); err != nil {
		return protocol.NewErrorReply(env.ID, err)
	}
	c := &call{
		id: e.cfg.NewID(), app: dev.App, caller: dev.User, callerDev: dev.ID, callee: callee,
		typ: inv.Type, ext: inv.Ext, record: inv.Record, merge: inv.MergeStream,
	}
	c.callerICE = e.iceServers(c.app, c.caller, c.id)
	c.calleeICE = e.iceServers(c.app, c.callee, c.id)

	e.mu.Lock()
	reply, pushing := e.startLocked(dev, env.ID, c, inv.PushIfOffline)
	e.unlock()
	if !pushing {
		return reply
	}
	pushed := e.cfg.Pusher(c.app, c.callee, c.incomingBody(), inv.OfflineText)
	e.mu.Lock()
	defer e.unlock()
	return e.afterPushLocked(dev, env.ID, c, pushed)
}

// checkUser returns CodeUserNotFound unless user exists in app.
func (e *Engine) checkUser(app, user string) error {
	if e.users == nil {
		return nil
	}
	ok, err := e.users.Exists(e.ctx, app, user)
	if err != nil {
		e.log.Warn("callflow: user lookup failed", slog.String("app", app), slog.Any("err", err))
		return protocol.NewError(protocol.CodeServerUnknown, "user lookup failed")
	}
	if !ok {
		return protocol.NewError(protocol.CodeUserNotFound, "no such user")
	}
	return nil
}

func (e *Engine) iceServers(app, user, id string) []protocol.ICEServer {
	if e.cfg.ICEServers == nil {
		return nil
	}
	return e.cfg.ICEServers(app, user, id)
}

// startLocked decides an invite. It returns the reply to return (nil when it was sent through
// the Sender), or pushing true when the call waits for the Pusher: then the call is indexed,
// so both parties are busy, but nothing rings yet.
func (e *Engine) startLocked(dev route.Device, rid string, c *call, pushIfOffline bool) (*protocol.Envelope, bool) {
	if e.closed.Load() {
		return protocol.NewErrorReply(rid, errShutdown), false
	}
	if cur := e.byUser[c.callerKey()]; cur != nil {
		if cur.glare(dev, c.callee) {
			e.replyFirst(dev, rid, &protocol.CallInvited{CallID: cur.id, ICEServers: cur.calleeICE, Glare: true})
			e.accept(cur, dev.ID)
			return nil, false
		}
		return protocol.NewErrorReply(rid, protocol.NewError(protocol.CodeCallBusy, "already in a call")), false
	}
	if _, dup := e.calls[c.id]; dup {
		return protocol.NewErrorReply(rid, protocol.NewError(protocol.CodeGeneral, "call id collision")), false
	}
	c.invitedAt = e.now()
	e.emit(c, EventInvited, nil)
	if e.byUser[c.calleeKey()] != nil {
		e.replyFirst(dev, rid, &protocol.CallInvited{CallID: c.id, ICEServers: c.callerICE})
		e.send.Send(dev, endedMsg(c.id, protocol.EndBusy, ""))
		e.finish(c, protocol.EndBusy, "")
		return nil, false
	}
	devs := e.dir.OnlineDevices(c.app, c.callee)
	if len(devs) == 0 {
		if pushIfOffline && e.cfg.Pusher != nil {
			c.pushing = true
			e.index(c)
			return nil, true
		}
		e.finish(c, protocol.EndRemoteOffline, "")
		return protocol.NewErrorReply(rid, protocol.NewError(protocol.CodeCallRemoteOffline, "the callee is offline")), false
	}
	e.index(c)
	e.ringAll(c, dev, rid, devs)
	return nil, false
}

// afterPushLocked finishes an invite whose callee was offline once the Pusher has answered.
// A callee device may have come online meanwhile: then it simply rings.
func (e *Engine) afterPushLocked(dev route.Device, rid string, c *call, pushed bool) *protocol.Envelope {
	if e.closed.Load() {
		return protocol.NewErrorReply(rid, errShutdown)
	}
	if c.ended { // the caller's grace ran out during the push
		return protocol.NewErrorReply(rid, protocol.NewError(protocol.CodeCallConnectFailed, "the call failed"))
	}
	c.pushing = false
	if devs := e.dir.OnlineDevices(c.app, c.callee); len(devs) > 0 {
		e.ringAll(c, dev, rid, devs)
		return nil
	}
	if !pushed {
		e.finish(c, protocol.EndRemoteOffline, "")
		return protocol.NewErrorReply(rid, protocol.NewError(protocol.CodeCallRemoteOffline, "the callee is offline"))
	}
	e.replyFirst(dev, rid, &protocol.CallInvited{CallID: c.id, ICEServers: c.callerICE})
	e.send.Send(dev, protocol.NewMessage(protocol.TypeCallOffline, "", &protocol.CallOffline{CallID: c.id, To: c.callee}))
	e.emit(c, EventOffline, nil)
	e.armRing(c)
	return nil
}

// index makes c live: findable by id and making both parties busy.
func (e *Engine) index(c *call) {
	e.calls[c.id] = c
	e.byUser[c.callerKey()] = c
	e.byUser[c.calleeKey()] = c
}

// ringAll replies to the invite and rings every online callee device that can take the
// call, or ends the call Unsupported when none can.
func (e *Engine) ringAll(c *call, dev route.Device, rid string, devs []route.Online) {
	e.replyFirst(dev, rid, &protocol.CallInvited{CallID: c.id, ICEServers: c.callerICE})
	capable := false
	for i := range devs {
		if canTake(c.typ, devs[i].Capabilities) {
			capable = true
			e.ring(c, devs[i].ID)
		}
	}
	if !capable {
		e.send.Send(dev, endedMsg(c.id, protocol.EndUnsupported, ""))
		e.finish(c, protocol.EndUnsupported, "")
		return
	}
	e.armRing(c)
}

// ring rings one callee device and tells the caller, unless it already rings. A device the
// Sender cannot reach is not rung.
func (e *Engine) ring(c *call, id string) {
	i := c.leg(id)
	if i >= 0 && c.legs[i].ringing || i < 0 && len(c.legs) >= maxLegs {
		return
	}
	if !e.send.Send(c.calleeDevice(id), c.incomingEnv()) {
		return
	}
	if i < 0 {
		c.legs = append(c.legs, leg{device: id})
		i = len(c.legs) - 1
	}
	c.legs[i].ringing = true
	if c.ringingAt.IsZero() {
		c.ringingAt = e.now()
		e.emit(c, EventRinging, func(ev *Event) { ev.Device = id })
	}
	c.legs[i].missed = !e.send.Send(c.callerDevice(), ringingMsg(c.id, id))
	if c.away[sideCaller] {
		e.send.Send(c.calleeDevice(id), peerMsg(c.id, false))
	}
}
