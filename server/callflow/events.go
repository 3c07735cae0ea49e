package callflow

import (
	"time"

	"github.com/duet-rtc/duet/protocol"
)

// EventKind names one step of a call, as Step.Events reports it.
type EventKind uint8

// The steps of a call. Every call that gets an id has EventInvited first and EventEnded
// last; the others happen at most once each, in this order when they do (EventConnected
// may come before EventAccepted or after it).
const (
	EventInvited   EventKind = iota + 1 // the call got an id
	EventOffline                        // the callee had no online device: pushed, still ringing
	EventRinging                        // the first callee device rang
	EventConnected                      // the first device reported its transport up
	EventAccepted                       // a callee device answered
	EventEnded                          // the call ended; Event.Record is its record
)

var eventNames = [...]string{"", "invited", "offline", "ringing", "connected", "accepted", "ended"}

// String returns the step's name: "invited", "offline", "ringing", "connected", "accepted"
// or "ended".
func (k EventKind) String() string {
	if int(k) < len(eventNames) {
		return eventNames[k]
	}
	return "unknown"
}

// Event is one step of one call, for observers such as the webhook outbox.
type Event struct {
	Kind EventKind
	// Seq numbers the call's events 1, 2, ... in the order they happened.
	Seq          int
	CallID, App  string
	Caller       string
	CallerDevice string
	Callee       string
	Type         protocol.CallType
	// Device is the callee device that rang first (EventRinging) or answered
	// (EventAccepted).
	Device string
	// ConnectType is how the first device connected (EventConnected).
	ConnectType protocol.ConnectType
	// Reason and By say how the call ended (EventEnded); By is "" when the server ended it.
	Reason protocol.EndReason
	By     string
	// Record is the call's record (EventEnded only).
	Record *Record
	At     time.Time
}

// emit puts a step of c in the engine's Step. It runs under the engine's lock, which is
// what keeps a call's events in order whichever goroutine decides them.
func (e *Engine) emit(c *call, kind EventKind, fill func(*Event)) {
	c.events++
	e.touch(c)
	ev := Event{
		Kind: kind, Seq: c.events, CallID: c.id, App: c.app,
		Caller: c.caller, CallerDevice: c.callerDev, Callee: c.callee, Type: c.typ, At: e.now(),
	}
	if fill != nil {
		fill(&ev)
	}
	e.step.Events = append(e.step.Events, ev)
}
