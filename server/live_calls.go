package server

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/duet-rtc/duet/protocol"
	"github.com/duet-rtc/duet/server/callflow"
	"github.com/duet-rtc/duet/server/store"
)

// liveLeg is how a live call's legs are kept in the store.
type liveLeg struct {
	Device  string `json:"device"`
	Ringing bool   `json:"ringing,omitempty"`
}

// liveICE is how a live call's ICE servers are kept in the store.
type liveICE struct {
	Caller []protocol.ICEServer `json:"caller,omitempty"`
	Callee []protocol.ICEServer `json:"callee,omitempty"`
}

// liveCallOf is the store row of a call's durable state.
func liveCallOf(s *callflow.State, now time.Time) store.LiveCall {
	ll := make([]liveLeg, len(s.Legs))
	for i, l := range s.Legs {
		ll[i] = liveLeg(l)
	}
	legs, _ := json.Marshal(ll) // plain structs: cannot fail
	var ice []byte
	if len(s.CallerICE)+len(s.CalleeICE) > 0 {
		ice, _ = json.Marshal(liveICE{Caller: s.CallerICE, Callee: s.CalleeICE})
	}
	state := 0
	if s.Accepted {
		state = 1
	}
	return store.LiveCall{
		ID: s.ID, App: s.App, Caller: s.Caller, CallerDevice: s.CallerDevice, Callee: s.Callee,
		Type: int(s.Type), Ext: s.Ext, Record: s.Record, MergeStream: s.MergeStream,
		State: state, Answered: s.Answered, Legs: legs, ICE: ice,
		InvitedAt: s.InvitedAt, RingingAt: s.RingingAt, ConnectedAt: s.ConnectedAt, AcceptedAt: s.AcceptedAt,
		ConnectType: int(s.ConnectType), RingDeadline: s.RingDeadline,
		CallerGrace: s.Grace[0], CalleeGrace: s.Grace[1], Events: s.Events, Updated: now,
	}
}

// stateOf reads a live call back. A row that does not make sense (legs or ICE that do not
// decode, a state, type or ids out of range) comes back Damaged, with what could be read:
// the call flow then ends it Failed and records it instead of trusting it.
func stateOf(l store.LiveCall) (callflow.State, error) {
	s := callflow.State{
		ID: l.ID, App: l.App, Caller: l.Caller, CallerDevice: l.CallerDevice, Callee: l.Callee,
		Type: protocol.CallType(l.Type), Ext: l.Ext, Record: l.Record, MergeStream: l.MergeStream,
		Accepted: l.State == 1, Answered: l.Answered,
		InvitedAt: l.InvitedAt, RingingAt: l.RingingAt, ConnectedAt: l.ConnectedAt, AcceptedAt: l.AcceptedAt,
		ConnectType: protocol.ConnectType(l.ConnectType), RingDeadline: l.RingDeadline,
		Grace: [2]time.Time{l.CallerGrace, l.CalleeGrace}, Events: l.Events,
	}
	err := checkLiveCall(l, &s)
	s.Damaged = err != nil
	return s, err
}

func checkLiveCall(l store.LiveCall, s *callflow.State) error {
	var legs []liveLeg
	if err := json.Unmarshal(l.Legs, &legs); err != nil {
		return fmt.Errorf("legs: %w", err)
	}
	for _, leg := range legs {
		s.Legs = append(s.Legs, callflow.Leg(leg))
	}
	if len(l.ICE) > 0 {
		var ice liveICE
		if err := json.Unmarshal(l.ICE, &ice); err != nil {
			return fmt.Errorf("ice: %w", err)
		}
		s.CallerICE, s.CalleeICE = ice.Caller, ice.Callee
	}
	switch {
	case l.ID == "" || l.App == "" || l.Caller == "" || l.Callee == "" || l.CallerDevice == "":
		return fmt.Errorf("missing ids")
	case l.State != 0 && l.State != 1:
		return fmt.Errorf("state %d", l.State)
	case !s.Type.Valid():
		return fmt.Errorf("type %d", l.Type)
	case s.Accepted && (s.Answered == "" || s.AcceptedAt.IsZero()):
		return fmt.Errorf("accepted without an answering device")
	case l.InvitedAt.IsZero() || l.Events < 1:
		return fmt.Errorf("never invited")
	}
	for _, leg := range s.Legs {
		if leg.Device == "" {
			return fmt.Errorf("a leg without a device")
		}
	}
	return nil
}

// recordOf is the store record of an ended call.
func recordOf(r *callflow.Record) store.CallRecord {
	return store.CallRecord{
		ID: r.ID, App: r.App, Caller: r.Caller, CallerDevice: r.CallerDevice,
		Callee: r.Callee, CalleeDevice: r.CalleeDevice, Type: int(r.Type), Ext: r.Ext,
		Record: r.Record, MergeStream: r.MergeStream, InvitedAt: r.InvitedAt, RingingAt: r.RingingAt,
		ConnectedAt: r.ConnectedAt, AcceptedAt: r.AcceptedAt, EndedAt: r.EndedAt,
		EndReason: int(r.EndReason), EndedBy: r.EndedBy, ConnectType: int(r.ConnectType),
	}
}

// restoreCalls hands the call flow the live calls of the last run. Unreadable rows are
// logged and restored Damaged, so that the call flow ends and records them.
func (s *Server) restoreCalls(ctx context.Context) error {
	rows, err := s.store.LiveCalls(ctx)
	if err != nil {
		return fmt.Errorf("load live calls: %w", err)
	}
	states := make([]callflow.State, 0, len(rows))
	for _, row := range rows {
		st, err := stateOf(row)
		if err != nil {
			s.cfg.Logger.Error("a live call cannot be read back; it ends Failed", "call", row.ID, "app", row.App, "err", err)
		}
		states = append(states, st)
		s.quality.Resumed(st.App, st.ID)
	}
	s.calls.Restore(states)
	if len(states) > 0 {
		s.cfg.Logger.Info("live calls restored", "calls", len(states))
	}
	return nil
}
