package store

import (
	"context"
	"errors"
	"time"
)

// LiveCall is the durable state of one call in progress: everything a server needs to take
// the call over after a restart (or, in a cluster, from another node). The call flow owns
// the meaning of the fields; the store keeps them as they are given.
type LiveCall struct {
	ID           string
	App          string
	Caller       string // lower-cased usernames
	CallerDevice string
	Callee       string
	Type         int // protocol.CallType
	Ext          string
	Record       bool
	MergeStream  bool
	// State is the call flow's state: 0 ringing, 1 accepted.
	State int
	// Answered is the answering callee device once accepted.
	Answered string
	// Legs are the callee devices the call has rung, as JSON owned by the call flow. A row
	// whose Legs do not decode is corrupt: the server ends that call Failed.
	Legs []byte
	// ICE are the parties' ICE servers, as JSON owned by the call flow.
	ICE         []byte
	InvitedAt   time.Time
	RingingAt   time.Time // zero: no device rang yet
	ConnectedAt time.Time // zero: no transport report yet
	AcceptedAt  time.Time // zero: not accepted
	ConnectType int       // protocol.ConnectType
	// RingDeadline ends a ringing call NoResponse; zero when no ring timer runs.
	RingDeadline time.Time
	// CallerGrace and CalleeGrace end the call Failed when that party's device stays away;
	// zero when the party is present.
	CallerGrace, CalleeGrace time.Time
	// Events is how many call events (webhook steps) the call has emitted so far.
	Events int
	// Updated is when the row was last written.
	Updated time.Time
}

// CallBatch is one group commit of call steps: the live calls that changed, the calls that
// ended and the webhook events they caused. Everything in it becomes durable together or
// not at all, before any device or endpoint is told of it.
type CallBatch struct {
	// Save inserts or replaces live calls, keyed by (App, ID).
	Save []LiveCall
	// End inserts or replaces call records and deletes their live calls, keyed by (App, ID).
	End []CallRecord
	// Events are enqueued as EnqueueWebhookEvents does, after Save and End, in order.
	Events []WebhookEvent
	// Fence, when set, makes the commit conditional on the writer still owning what it
	// decides: a node of a cluster writes a partition's steps only while its session holds
	// the partition's advisory lock. A commit whose fence fails writes nothing and returns
	// ErrFenced. Only PostgreSQL has such locks; SQLite refuses a fence.
	Fence *Fence
}

// Fence names a PostgreSQL session advisory lock (two int4 keys) that the backend process
// PID must hold.
type Fence struct {
	Class, Key int32
	PID        uint32
}

// ErrFenced is returned by a commit whose Fence no longer holds: another node owns the
// calls now, and what the batch decided must be dropped.
var ErrFenced = errors.New("store: the commit's fence does not hold: the lock is lost")

// Empty reports whether the batch has nothing to write.
func (b *CallBatch) Empty() bool { return len(b.Save) == 0 && len(b.End) == 0 && len(b.Events) == 0 }

// LiveCallStore keeps the state of calls in progress.
type LiveCallStore interface {
	// CommitCalls writes the batch in one transaction: saved live calls, then ended calls
	// (record written, live row deleted), then webhook deliveries (one per endpoint of each
	// event's app, due at now). A call both saved and ended in one batch ends up ended.
	CommitCalls(ctx context.Context, b CallBatch, now time.Time) error
	// LiveCalls returns every live call, oldest invite first.
	LiveCalls(ctx context.Context) ([]LiveCall, error)
}

// Backend is everything duet keeps, as one store: the embedded SQLite store and the
// PostgreSQL store both implement it.
type Backend interface {
	Store
	LiveCallStore
	MessageStore
	PushStore
	RecordingStore
	WebhookStore
	SettingStore
	QualityStore
	ContactStore
}
