package quality

import (
	"context"
	"encoding/json"
	"time"

	"github.com/duet-rtc/duet/server/store"
)

// PartyQuality is the quality of one call as its record carries it (GET /{org}/{app}/calls,
// the call.ended webhook): each party's summary, absent for a party that reported nothing.
type PartyQuality struct {
	Caller *Summary `json:"caller,omitempty"`
	Callee *Summary `json:"callee,omitempty"`
}

// CallRef names a call whose parties' quality a record shows.
type CallRef struct {
	ID, Caller, Callee string
	EndedAt            int64 // unix ms; 0 while the call is live
}

// Parties reads a call's samples and sums them up per party: the caller's and the
// callee's (PartiesOf, for one call).
func (s *Service) Parties(ctx context.Context, app, callID, caller, callee string, endedAt int64) (*PartyQuality, error) {
	qs, err := s.PartiesOf(ctx, app, []CallRef{{callID, caller, callee, endedAt}})
	if err != nil {
		return nil, err
	}
	return qs[0], nil
}

// PartiesOf returns the quality of each call, in order: each party's summary (nil when
// nobody reported). A party with samples from several devices (it cannot happen in one call,
// but the store does not forbid it) is summed up from the device that sent the most.
//
// The summaries of a call that ended a while ago are final: they are summed up once, kept
// in the store (so that a restart or another node of a cluster reads them instead of the
// timeline) and in a bounded cache. A page of records costs one read of the kept summaries
// and one write of those summed up for the first time.
func (s *Service) PartiesOf(ctx context.Context, app string, calls []CallRef) ([]*PartyQuality, error) {
	out := make([]*PartyQuality, len(calls))
	done := make([]bool, len(calls))  // out[i] is known (nil: nobody reported)
	final := make([]bool, len(calls)) // the call ended a while ago: its summaries no longer change
	now := s.cfg.Clock.Now().UnixMilli()
	var ask []string // final calls not in the cache
	for i, c := range calls {
		final[i] = c.EndedAt > 0 && now-c.EndedAt > settledAfter
		if !final[i] {
			continue
		}
		if q, ok := s.cache.get(callKey{app, c.ID}); ok {
			out[i], done[i] = q, true
			continue
		}
		ask = append(ask, c.ID)
	}
	kept, err := s.keptSummaries(ctx, app, ask)
	if err != nil {
		return nil, err
	}
	var fresh []store.QualitySummary
	for i, c := range calls {
		if q, ok := kept[c.ID]; ok && !done[i] {
			out[i], done[i] = q, true
		}
		if done[i] {
			continue
		}
		rep, err := s.Report(ctx, app, c.ID)
		if err != nil {
			return nil, err
		}
		out[i] = partiesOf(rep, c.Caller, c.Callee)
		if final[i] {
			s.cache.put(callKey{app, c.ID}, out[i])
			if now-c.EndedAt < s.cfg.Retention.Milliseconds() { // older ones have no samples left to sum
				data, _ := json.Marshal(out[i]) // plain structs: cannot fail
				fresh = append(fresh, store.QualitySummary{App: app, CallID: c.ID, EndedAt: time.UnixMilli(c.EndedAt), Data: data})
			}
		}
	}
	if err := s.cfg.Store.AddQualitySummaries(ctx, fresh); err != nil {
		// The summaries are in the cache and derived from the samples: the next node or
		// restart sums them up again.
		s.cfg.Logger.Warn("quality: keeping summaries failed", "app", app, "calls", len(fresh), "err", err)
	}
	return out, nil
}

// keptSummaries reads the stored summaries of the calls ids, by call id, and caches them.
func (s *Service) keptSummaries(ctx context.Context, app string, ids []string) (map[string]*PartyQuality, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	rows, err := s.cfg.Store.QualitySummaries(ctx, app, ids)
	if err != nil {
		return nil, err
	}
	out := make(map[string]*PartyQuality, len(rows))
	for id, row := range rows {
		var q *PartyQuality
		if json.Unmarshal(row.Data, &q) != nil {
			continue // summed up from the samples instead
		}
		out[id] = q
		s.cache.put(callKey{app, id}, q)
	}
	return out, nil
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
