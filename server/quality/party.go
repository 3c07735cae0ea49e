package quality

import (
	"context"
	"time"
)

// PartyQuality is the quality of one call as its record carries it (GET /{org}/{app}/calls,
// the call.ended webhook): each party's summary, absent for a party that reported nothing.
type PartyQuality struct {
	Caller *Summary `json:"caller,omitempty"`
	Callee *Summary `json:"callee,omitempty"`
}

// Parties reads a call's samples and sums them up per party: the caller's and the
// callee's. A party with samples from several devices (it cannot happen in one call, but
// the store does not forbid it) is summed up from the device that sent the most. nil when
// nobody reported on the call. endedAt is the call's end in unix ms (0 while it is live):
// the summaries of a call that ended a while ago are final and kept in a bounded cache.
func (s *Service) Parties(ctx context.Context, app, callID, caller, callee string, endedAt int64) (*PartyQuality, error) {
	k := callKey{app, callID}
	settled := endedAt > 0 && s.cfg.Clock.Now().UnixMilli()-endedAt > settledAfter
	if settled {
		if q, ok := s.cache.get(k); ok {
			return q, nil
		}
	}
	rep, err := s.Report(ctx, app, callID)
	if err != nil {
		return nil, err
	}
	q := partiesOf(rep, caller, callee)
	if settled {
		s.cache.put(k, q)
	}
	return q, nil
}

func partiesOf(rep Report, caller, callee string) *PartyQuality {
	var out PartyQuality
	pick := func(user string) *Summary {
		var best *Summary
		for i := range rep.Parties {
			p := &rep.Parties[i]
			if p.User == user && (best == nil || p.Summary.Samples > best.Samples) {
				best = &p.Summary
			}
		}
		return best
	}
	out.Caller, out.Callee = pick(caller), pick(callee)
	if out.Caller == nil && out.Callee == nil {
		return nil
	}
	return &out
}

// Reported tells whether a device reported on the call in the last hour (a call's reports
// come every few seconds; an hour without one forgets the call): the call's end asks it before reading the store, so that the
// many calls nobody reports on cost no read when they end.
func (s *Service) Reported(app, callID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.reported[callKey{app, callID}]
	return ok
}

// Resumed tells the Service of a call restored from the store (after a restart, or on the
// node that took its partition over): another process may have stored its samples, so
// Reported says yes and its end reads them.
func (s *Service) Resumed(app, callID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reported[callKey{app, callID}] = s.cfg.Clock.Now()
}

type callKey struct{ app, call string }

// forgetQuiet drops the calls nobody reported on for an hour (ended on another node, or
// never told Ended). Called with mu held.
func (s *Service) forgetQuiet(now time.Time) {
	for k, at := range s.reported {
		if now.Sub(at) > time.Hour {
			delete(s.reported, k)
		}
	}
}
