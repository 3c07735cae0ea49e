package server

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/duet-rtc/duet/protocol"
	"github.com/duet-rtc/duet/server/api"
	"github.com/duet-rtc/duet/server/callflow"
	"github.com/duet-rtc/duet/server/cluster"
	"github.com/duet-rtc/duet/server/route"
)

// liveCallAdmin gives the admin API the calls in progress: read from the store (every
// node's calls, as of their last step) and ended by the engine that decides them.
type liveCallAdmin struct{ s *Server }

var _ api.LiveCalls = liveCallAdmin{}

// LiveCalls lists app's calls in progress, oldest invite first.
func (a liveCallAdmin) LiveCalls(ctx context.Context, app string) ([]api.LiveCall, error) {
	rows, err := a.s.store.LiveCalls(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", protocol.NewError(protocol.CodeDatabase, "database error"), err)
	}
	out := []api.LiveCall{}
	for _, r := range rows {
		if !strings.EqualFold(r.App, app) {
			continue
		}
		state := "ringing"
		if r.State == 1 {
			state = "accepted"
		}
		out = append(out, api.LiveCall{
			ID: r.ID, Caller: r.Caller, CallerDevice: r.CallerDevice, Callee: r.Callee, CalleeDevice: r.Answered,
			Type: r.Type, TypeName: protocol.CallType(r.Type).String(), State: state, Record: r.Record,
			InvitedAt: unixMs(r.InvitedAt), AcceptedAt: unixMs(r.AcceptedAt), ConnectedAt: unixMs(r.ConnectedAt),
			ConnectType: r.ConnectType,
		})
	}
	return out, nil
}

// unixMs is t in unix ms, 0 for the zero time (a step that did not happen).
func unixMs(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// EndCall ends a call in progress for the operator and returns once its end is stored and
// told to its devices. On a node of a cluster it is decided by the call's owner.
func (a liveCallAdmin) EndCall(ctx context.Context, app, id string, reason protocol.EndReason) error {
	if !callflow.OperatorReason(reason) {
		return protocol.NewError(protocol.CodeUserIllegalArgument, "an operator ends a call with reason 9 or 103")
	}
	if c := a.s.cluster; c != nil {
		return c.endByOperator(app, id, reason)
	}
	if err := a.s.calls.EndByOperator(app, id, reason); err != nil {
		return err
	}
	a.s.steps.Flush()
	return nil
}

// operatorEnd is the frame of a cluster.OpOperatorEnd request.
type operatorEnd struct {
	CallID string             `json:"callId"`
	Reason protocol.EndReason `json:"reason"`
}

// endByOperator has the owner of app's calls end one.
func (c *clusterCalls) endByOperator(app, id string, reason protocol.EndReason) error {
	frame, _ := json.Marshal(operatorEnd{CallID: id, Reason: reason})
	reply, err := c.node.Forward(c.partitionOf(app), &cluster.Request{Op: cluster.OpOperatorEnd,
		Device: route.Online{Device: route.Device{App: app, ID: "operator"}}, Frame: frame})
	if err != nil {
		return protocol.NewError(protocol.CodeServerBusy, "no node decides this app's calls right now; try again shortly")
	}
	var env protocol.Envelope
	if len(reply) > 0 && json.Unmarshal(reply, &env) == nil && env.Error != nil {
		return env.Error
	}
	return nil
}

// operatorEnd ends a call of a partition owned here, for a forwarded request.
func (pc *partitionCalls) operatorEnd(app string, frame []byte) []byte {
	var req operatorEnd
	err := json.Unmarshal(frame, &req)
	if err == nil {
		err = pc.engine.EndByOperator(app, req.CallID, req.Reason)
	}
	if err == nil {
		pc.steps.Flush()
	}
	reply := protocol.NewReply("operator", nil)
	if err != nil {
		reply = protocol.NewErrorReply("operator", err)
	}
	b, _ := reply.Encode()
	return b
}
