package callflow

import (
	"time"

	"github.com/duet-rtc/duet/protocol"
	"github.com/duet-rtc/duet/server/route"
)

// userKey names a user across apps.
type userKey struct{ app, user string }

type callState uint8

const (
	stateRinging  callState = iota // invited; ringing (or pushing) the callee
	stateAccepted                  // a callee device answered
)

// side indexes the two parties of a call.
type side int

const (
	sideCaller side = 0
	sideCallee side = 1
)

// role is what a device is to a call.
type role uint8

const (
	roleNone   role = iota // not a device of this call
	roleFormer             // a callee device that rang but no longer does (dropped, or another answered)
	roleCaller             // the caller's device
	roleCallee             // a ringing callee device, or after accept the answering one
)

// maxLegs bounds how many callee devices one call rings, whatever the directory returns.
const maxLegs = 64

// leg is one callee device the call has rung.
type leg struct {
	device  string
	ringing bool
	missed  bool // the caller's call.ringing for this leg was not delivered
}

// call is one live call. All fields are guarded by Engine.mu.
type call struct {
	id, app        string
	caller, callee string // lower-cased usernames
	callerDev      string
	typ            protocol.CallType
	ext            string
	record, merge  bool
	callerICE      []protocol.ICEServer
	calleeICE      []protocol.ICEServer

	state        callState
	pushing      bool // the invite is waiting for the Pusher; nothing rings yet
	ended        bool
	legs         []leg
	answered     string  // the answering callee device, once accepted
	missedAccept bool    // the caller's call.accepted was not delivered
	away         [2]bool // by side: the device lost its connection and the grace runs

	invitedAt, ringingAt, connectedAt, acceptedAt time.Time
	connectType                                   protocol.ConnectType

	ring     timer
	grace    [2]timer
	incoming *protocol.CallIncoming // call.incoming, the same for every callee device; built once
	events   int                    // events emitted so far (Event.Seq)
	dirty    bool                   // changed in the current locked section (Engine.touch)
	// replayAccept: the answering device gets call.accepted again when it returns (set by
	// Restore, since a crash may have come between the accept and its delivery).
	replayAccept bool
}

func (c *call) callerKey() userKey { return userKey{c.app, c.caller} }
func (c *call) calleeKey() userKey { return userKey{c.app, c.callee} }

func (c *call) callerDevice() route.Device {
	return route.Device{App: c.app, User: c.caller, ID: c.callerDev}
}

func (c *call) calleeDevice(id string) route.Device {
	return route.Device{App: c.app, User: c.callee, ID: id}
}

// leg returns the index of callee device id in c.legs, or -1.
func (c *call) leg(id string) int {
	for i := range c.legs {
		if c.legs[i].device == id {
			return i
		}
	}
	return -1
}

// active reports whether leg i is part of the call now: ringing, or the answering device.
func (c *call) active(i int) bool {
	if c.state == stateAccepted {
		return c.legs[i].device == c.answered
	}
	return c.legs[i].ringing
}

// role returns what d is to the call. Device ids are per user, so the user decides which
// side an id belongs to.
func (c *call) role(d route.Device) role {
	switch {
	case d.App != c.app:
		return roleNone
	case d.User == c.caller:
		if d.ID == c.callerDev {
			return roleCaller
		}
	case d.User == c.callee:
		i := c.leg(d.ID)
		if i < 0 {
			return roleNone
		}
		if c.active(i) {
			return roleCallee
		}
		return roleFormer
	}
	return roleNone
}

// glare reports whether an invite from dev to callee meets this call ringing dev: the earlier
// invite wins and the later one answers it.
func (c *call) glare(dev route.Device, callee string) bool {
	if c.state != stateRinging || c.pushing || c.app != dev.App ||
		c.callee != dev.User || c.caller != callee {
		return false
	}
	i := c.leg(dev.ID)
	return i >= 0 && c.legs[i].ringing
}

// incomingBody is what every callee device is rung with, and what the Pusher gets.
func (c *call) incomingBody() protocol.CallIncoming {
	return protocol.CallIncoming{
		CallID: c.id, From: c.caller, FromDevice: c.callerDev, Type: c.typ,
		Ext: c.ext, Record: c.record, ICEServers: c.calleeICE,
	}
}

func (c *call) incomingMsg() Message {
	if c.incoming == nil {
		body := c.incomingBody()
		c.incoming = &body
	}
	return Message{Type: protocol.TypeCallIncoming, Body: c.incoming}
}

func (c *call) stopTimers() {
	c.ring.stop()
	c.grace[sideCaller].stop()
	c.grace[sideCallee].stop()
}

// canTake reports whether a device with caps can take a call of type t. Only video needs a
// capability: every device is assumed to do voice.
func canTake(t protocol.CallType, caps protocol.Capabilities) bool {
	return t != protocol.CallVideo || caps.Video
}
