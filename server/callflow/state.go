package callflow

import (
	"time"

	"github.com/duet-rtc/duet/protocol"
)

// State is the durable state of one live call: what a server needs to take the call over
// after a restart (Restore). The engine hands a State out in Step.Saves after every step
// that changed it; the server stores it and gives it back to Restore on start.
type State struct {
	ID, App      string
	Caller       string // lower-cased usernames
	CallerDevice string
	Callee       string
	Type         protocol.CallType
	Ext          string
	Record       bool
	MergeStream  bool
	Accepted     bool
	Answered     string // the answering callee device, once accepted
	// Legs are the callee devices the call has rung, in ring order.
	Legs                                          []Leg
	CallerICE, CalleeICE                          []protocol.ICEServer
	InvitedAt, RingingAt, ConnectedAt, AcceptedAt time.Time
	ConnectType                                   protocol.ConnectType
	// RingDeadline ends a ringing call NoResponse; zero while no ring timer runs (a push
	// is on its way).
	RingDeadline time.Time
	// Grace holds, by side (caller, callee), when an away party's grace runs out; zero
	// while the party is present.
	Grace [2]time.Time
	// Events counts the call's events so far (Event.Seq of the last one).
	Events int
	// Damaged marks a state that could not be read back in full: Restore ends the call
	// Failed at once, with a record made of what is there.
	Damaged bool
}

// Leg is one callee device a call has rung.
type Leg struct {
	Device  string
	Ringing bool
}

// touch marks c as changed in the current locked section: its State goes out with the
// section's Step.
func (e *Engine) touch(c *call) {
	if !c.dirty {
		c.dirty = true
		e.dirty = append(e.dirty, c)
	}
}

// snapshot is the durable state of c now.
func (c *call) snapshot() State {
	s := State{
		ID: c.id, App: c.app, Caller: c.caller, CallerDevice: c.callerDev, Callee: c.callee,
		Type: c.typ, Ext: c.ext, Record: c.record, MergeStream: c.merge,
		Accepted: c.state == stateAccepted, Answered: c.answered,
		Legs:      make([]Leg, len(c.legs)),
		CallerICE: c.callerICE, CalleeICE: c.calleeICE,
		InvitedAt: c.invitedAt, RingingAt: c.ringingAt, ConnectedAt: c.connectedAt, AcceptedAt: c.acceptedAt,
		ConnectType: c.connectType, RingDeadline: c.ring.at, Events: c.events,
	}
	for i, l := range c.legs {
		s.Legs[i] = Leg{Device: l.device, Ringing: l.ringing}
	}
	for sd := range s.Grace {
		if c.away[sd] {
			s.Grace[sd] = c.grace[sd].at
		}
	}
	return s
}

// callOf builds a live call from its durable state, with every device away: nothing is
// connected to a server that has just started.
func callOf(s State) *call {
	c := &call{
		id: s.ID, app: s.App, caller: s.Caller, callerDev: s.CallerDevice, callee: s.Callee,
		typ: s.Type, ext: s.Ext, record: s.Record, merge: s.MergeStream,
		callerICE: s.CallerICE, calleeICE: s.CalleeICE, answered: s.Answered,
		invitedAt: s.InvitedAt, ringingAt: s.RingingAt, connectedAt: s.ConnectedAt,
		acceptedAt: s.AcceptedAt, connectType: s.ConnectType, events: s.Events,
	}
	if s.Accepted {
		c.state = stateAccepted
	}
	for _, l := range s.Legs {
		c.legs = append(c.legs, leg{device: l.Device})
	}
	return c
}

// Restore takes over the live calls of a previous run (or another server) from their
// durable state, once, before devices connect. Every party gets ReconnectGrace from now to
// come back (rule 12 then resumes it; a callee device of a ringing call is rung again), a
// ringing call keeps its ring deadline (one that passed ends the call NoResponse at once),
// and the caller and answering devices get call.accepted again when they return, since a
// crash may have come between the accept and its delivery. A damaged state, or one that
// clashes with a call restored before it (same id, or a party already in a call), ends
// Failed at once and is recorded.
func (e *Engine) Restore(states []State) {
	e.lock()
	defer e.unlock()
	now := e.now()
	for _, s := range states {
		c := callOf(s)
		if s.Damaged || e.calls[c.id] != nil || e.byUser[c.callerKey()] != nil || e.byUser[c.calleeKey()] != nil {
			e.log.Warn("callflow: ending a live call that cannot be restored", "call", s.ID, "app", s.App, "damaged", s.Damaged)
			e.finish(c, protocol.EndFailed, "")
			continue
		}
		e.index(c)
		c.missedAccept = c.state == stateAccepted
		c.replayAccept = c.state == stateAccepted
		// The caller's device and, once accepted, the answering device have a grace; the
		// callee's devices of a ringing call are rung again instead (the ring timer decides).
		e.awayOnRestore(c, sideCaller)
		if c.state == stateAccepted {
			e.awayOnRestore(c, sideCallee)
		} else {
			deadline := s.RingDeadline
			if deadline.IsZero() {
				deadline = c.invitedAt.Add(e.cfg.RingTimeout)
			}
			e.armRingAt(c, deadline.Sub(now))
		}
	}
}

// awayOnRestore starts the grace of side s of a restored call without telling anyone:
// nobody is connected yet.
func (e *Engine) awayOnRestore(c *call, s side) {
	c.away[s] = true
	e.armGrace(c, s)
}
