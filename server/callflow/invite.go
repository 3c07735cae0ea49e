package callflow

import (
	"log/slog"
	"strings"

	"github.com/duet-rtc/duet/protocol"
	"github.com/duet-rtc/duet/server/route"
)

// Invite starts a call (rules 1–4 and 7 of the package doc). The callee lookup, the id and
// the ICE servers are done before the lock. An invite to an offline callee with a push is
// answered at once; the Pusher's result comes back later as an event of its own (pushDone).
func (e *Engine) Invite(dev route.Device, rid string, inv protocol.CallInvite) {
	callee := protocol.NormalizeUsername(inv.To)
	if strings.EqualFold(callee, dev.User) {
		e.fail(dev, rid, protocol.NewError(protocol.CodeCallSelf, "cannot call yourself"))
		return
	}
	if err := e.checkUser(dev.App, callee); err != nil {
		e.fail(dev, rid, err)
		return
	}
	c := &call{
		id: e.cfg.NewID(), app: dev.App, caller: dev.User, callerDev: dev.ID, callee: callee,
		typ: inv.Type, ext: inv.Ext, record: inv.Record, merge: inv.MergeStream,
	}
	c.callerICE = e.iceServers(c.app, c.caller, c.id)
	c.calleeICE = e.iceServers(c.app, c.callee, c.id)

	e.lock()
	pushing := e.startLocked(dev, rid, c, inv.PushIfOffline)
	e.unlock()
	if pushing {
		e.cfg.Pusher(c.app, c.callee, c.incomingBody(), inv.OfflineText, func(pushed bool) { e.pushDone(c, pushed) })
	}
}

// fail replies err to request rid in a locked section of its own.
func (e *Engine) fail(dev route.Device, rid string, err error) {
	e.lock()
	defer e.unlock()
	e.reply(dev, rid, nil, err)
}

// checkUser returns CodeUserNotFound unless user exists in app. A user with a connected
// device exists (the device authenticated with the user's token, and deleting a user
// disconnects its devices): most calls go to someone online, and the directory answers from
// memory what the store would answer with a query per invite.
func (e *Engine) checkUser(app, user string) error {
	if e.users == nil || len(e.dir.OnlineDevices(app, user)) > 0 {
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

// startLocked decides an invite. It reports pushing true when the call waits for the
// Pusher: then the call is indexed, so both parties are busy, and the caller has its id,
// but nothing rings yet.
func (e *Engine) startLocked(dev route.Device, rid string, c *call, pushIfOffline bool) bool {
	if e.refused(dev, rid) {
		return false
	}
	if cur := e.byUser[c.callerKey()]; cur != nil {
		if cur.glare(dev, c.callee) {
			e.reply(dev, rid, &protocol.CallInvited{CallID: cur.id, ICEServers: cur.calleeICE, Glare: true}, nil)
			e.accept(cur, dev.ID)
			return false
		}
		e.reply(dev, rid, nil, protocol.NewError(protocol.CodeCallBusy, "already in a call"))
		return false
	}
	if _, dup := e.calls[c.id]; dup {
		e.reply(dev, rid, nil, protocol.NewError(protocol.CodeGeneral, "call id collision"))
		return false
	}
	c.invitedAt = e.now()
	e.emit(c, EventInvited, nil)
	if e.byUser[c.calleeKey()] != nil {
		e.reply(dev, rid, &protocol.CallInvited{CallID: c.id, ICEServers: c.callerICE}, nil)
		e.send(dev, endedMsg(c.id, protocol.EndBusy, ""))
		e.finish(c, protocol.EndBusy, "")
		return false
	}
	devs := e.dir.OnlineDevices(c.app, c.callee)
	if len(devs) == 0 {
		if pushIfOffline && e.cfg.Pusher != nil {
			c.pushing = true
			e.index(c)
			e.reply(dev, rid, &protocol.CallInvited{CallID: c.id, ICEServers: c.callerICE}, nil)
			return true
		}
		e.finish(c, protocol.EndRemoteOffline, "")
		e.reply(dev, rid, nil, protocol.NewError(protocol.CodeCallRemoteOffline, "the callee is offline"))
		return false
	}
	e.index(c)
	e.ringAll(c, dev, rid, devs)
	return false
}

// pushDone finishes an invite whose callee was offline once the Pusher has answered. A
// callee device may have come online meanwhile: then it simply rings. Without a push and
// without a device the call ends RemoteOffline for the caller, who has its id already.
func (e *Engine) pushDone(c *call, pushed bool) {
	e.lock()
	defer e.unlock()
	if e.closed.Load() || c.ended || !c.pushing { // closed, or ended by the caller meanwhile
		return
	}
	c.pushing = false
	caller := c.callerDevice()
	if devs := e.dir.OnlineDevices(c.app, c.callee); len(devs) > 0 {
		e.ringDevices(c, caller, devs)
		return
	}
	if !pushed {
		e.send(caller, endedMsg(c.id, protocol.EndRemoteOffline, ""))
		e.finish(c, protocol.EndRemoteOffline, "")
		return
	}
	e.send(caller, Message{Type: protocol.TypeCallOffline, Body: &protocol.CallOffline{CallID: c.id, To: c.callee}})
	e.emit(c, EventOffline, nil)
	e.armRing(c)
}

// index makes c live: findable by id and making both parties busy.
func (e *Engine) index(c *call) {
	e.touch(c)
	e.calls[c.id] = c
	e.byUser[c.callerKey()] = c
	e.byUser[c.calleeKey()] = c
}

// ringAll replies to the invite and rings every online callee device that can take the
// call, or ends the call Unsupported when none can.
func (e *Engine) ringAll(c *call, dev route.Device, rid string, devs []route.Online) {
	e.reply(dev, rid, &protocol.CallInvited{CallID: c.id, ICEServers: c.callerICE}, nil)
	e.ringDevices(c, dev, devs)
}

// ringDevices rings every device of devs that can take the call, or ends the call
// Unsupported for the caller device dev when none can.
func (e *Engine) ringDevices(c *call, dev route.Device, devs []route.Online) {
	capable := false
	for i := range devs {
		if canTake(c.typ, devs[i].Capabilities) {
			capable = true
			e.ring(c, devs[i].ID)
		}
	}
	if !capable {
		e.send(dev, endedMsg(c.id, protocol.EndUnsupported, ""))
		e.finish(c, protocol.EndUnsupported, "")
		return
	}
	e.armRing(c)
}

// ring rings one callee device and tells the caller, unless it already rings. A device the
// Directory does not list as connected is not rung.
func (e *Engine) ring(c *call, id string) {
	i := c.leg(id)
	if i >= 0 && c.legs[i].ringing || i < 0 && len(c.legs) >= maxLegs {
		return
	}
	if !e.send(c.calleeDevice(id), c.incomingMsg()) {
		return
	}
	if i < 0 {
		c.legs = append(c.legs, leg{device: id})
		i = len(c.legs) - 1
		e.touch(c)
	}
	c.legs[i].ringing = true
	if c.ringingAt.IsZero() {
		c.ringingAt = e.now()
		e.emit(c, EventRinging, func(ev *Event) { ev.Device = id })
	}
	c.legs[i].missed = !e.send(c.callerDevice(), ringingMsg(c.id, id))
	if c.away[sideCaller] {
		e.send(c.calleeDevice(id), peerMsg(c.id, false))
	}
}
