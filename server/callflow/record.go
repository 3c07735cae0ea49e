package callflow

import (
	"log/slog"
	"time"

	"github.com/duet-rtc/duet/protocol"
)

// Record is the durable record of one ended call (rule 14).
type Record struct {
	ID, App      string
	Caller       string
	CallerDevice string
	Callee       string
	CalleeDevice string // the device that answered, "" if none did
	Type         protocol.CallType
	Ext          string
	Record       bool
	MergeStream  bool
	InvitedAt    time.Time
	RingingAt    time.Time // zero: no device rang
	ConnectedAt  time.Time // zero: transport never came up
	AcceptedAt   time.Time // zero: not accepted
	EndedAt      time.Time
	EndReason    protocol.EndReason
	EndedBy      string // username, or "" when the server ended it
	ConnectType  protocol.ConnectType
}

// finish ends c: stops its timers, forgets it (keeping only a small entry in the recent
// memory) and puts its record and its ended event in the step. by is "" when the server
// ended it. The caller of finish has already told the devices.
func (e *Engine) finish(c *call, reason protocol.EndReason, by string) {
	if c.ended {
		return
	}
	c.ended = true
	c.stopTimers()
	if e.calls[c.id] == c {
		delete(e.calls, c.id)
	}
	if e.byUser[c.callerKey()] == c {
		delete(e.byUser, c.callerKey())
	}
	if e.byUser[c.calleeKey()] == c {
		delete(e.byUser, c.calleeKey())
	}
	now := e.now()
	e.recent.add(c.id, endedCall{
		app: c.app, caller: c.caller, callee: c.callee, answered: c.answered,
		reason: reason, by: by, at: now,
	})
	rec := c.recordAt(reason, by, now)
	e.step.Ends = append(e.step.Ends, rec)
	e.emit(c, EventEnded, func(ev *Event) { ev.Reason, ev.By, ev.Record = reason, by, &rec })
	if e.log.Enabled(e.ctx, slog.LevelDebug) {
		e.log.LogAttrs(e.ctx, slog.LevelDebug, "call ended",
			slog.String("call", c.id), slog.String("app", c.app),
			slog.String("reason", reason.String()), slog.String("by", by))
	}
}

// serverEnd ends c for a reason the server decided (timeout, grace, ...), telling every
// active device of the call.
func (e *Engine) serverEnd(c *call, reason protocol.EndReason) {
	e.tellAll(c, endedMsg(c.id, reason, ""))
	e.finish(c, reason, "")
}

func (c *call) recordAt(reason protocol.EndReason, by string, ended time.Time) Record {
	return Record{
		ID: c.id, App: c.app,
		Caller: c.caller, CallerDevice: c.callerDev,
		Callee: c.callee, CalleeDevice: c.answered,
		Type: c.typ, Ext: c.ext, Record: c.record, MergeStream: c.merge,
		InvitedAt: c.invitedAt, RingingAt: c.ringingAt, ConnectedAt: c.connectedAt,
		AcceptedAt: c.acceptedAt, EndedAt: ended,
		EndReason: reason, EndedBy: by, ConnectType: c.connectType,
	}
}
