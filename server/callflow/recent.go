package callflow

import (
	"time"

	"github.com/duet-rtc/duet/protocol"
	"github.com/duet-rtc/duet/server/route"
)

// recentCap bounds how many ended calls are remembered, whatever the load. At most
// 2×max(RingTimeout, ReconnectGrace) of history is kept; under heavy load the count cap bites first, and a late
// call.end for an evicted call gets CodeCallInvalidID, which the SDK treats as ended anyway.
const recentCap = 16384

// endedCall is what is kept of an ended call: enough to recognise its parties.
type endedCall struct {
	app, caller, callee string
	answered            string
	reason              protocol.EndReason
	by                  string
	at                  time.Time
}

func (ec *endedCall) party(d route.Device) bool {
	return d.App == ec.app && (d.User == ec.caller || d.User == ec.callee)
}

// recentCalls is a bounded memory of ended calls: a map plus a ring of ids in end order, so
// the oldest are dropped first, by age or by count.
type recentCalls struct {
	maxAge time.Duration
	max    int
	byID   map[string]endedCall
	ids    []string // grows to max, then used as a ring
	head   int      // index of the oldest id
	n      int
}

func newRecentCalls(maxAge time.Duration, max int) recentCalls {
	return recentCalls{maxAge: maxAge, max: max, byID: make(map[string]endedCall)}
}

func (r *recentCalls) add(id string, ec endedCall) {
	r.prune(ec.at)
	if _, dup := r.byID[id]; dup {
		r.byID[id] = ec
		return
	}
	if r.n == r.max {
		r.dropOldest()
	}
	// Until the ring is full the used slots are ids[head:], so the tail is len(ids).
	if tail := (r.head + r.n) % r.max; tail == len(r.ids) {
		r.ids = append(r.ids, id)
	} else {
		r.ids[tail] = id
	}
	r.n++
	r.byID[id] = ec
}

// get returns the ended call id if it is remembered and not too old.
func (r *recentCalls) get(id string, now time.Time) (endedCall, bool) {
	ec, ok := r.byID[id]
	if !ok || now.Sub(ec.at) >= r.maxAge {
		return endedCall{}, false
	}
	return ec, true
}

func (r *recentCalls) prune(now time.Time) {
	for r.n > 0 && now.Sub(r.byID[r.ids[r.head]].at) >= r.maxAge {
		r.dropOldest()
	}
}

func (r *recentCalls) dropOldest() {
	delete(r.byID, r.ids[r.head])
	r.ids[r.head] = ""
	r.head = (r.head + 1) % r.max
	r.n--
}

func (r *recentCalls) len() int { return r.n }
