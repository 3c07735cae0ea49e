package webhook

import (
	"encoding/json"
	"strconv"

	"github.com/duet-rtc/duet/server/callflow"
	"github.com/duet-rtc/duet/server/quality"
	"github.com/duet-rtc/duet/server/store"
)

// Payload is the JSON body of every call webhook. ID is unique per event ("<callId>-<seq>"),
// the same at every retry, so receivers can drop repeats; Seq orders one call's events.
type Payload struct {
	ID        string   `json:"id"`
	Type      string   `json:"type"` // "call.invited", "call.offline", "call.ringing", "call.connected", "call.accepted", "call.ended"
	App       string   `json:"app"`
	CallID    string   `json:"callId"`
	Seq       int      `json:"seq"`
	Timestamp int64    `json:"timestamp"` // unix milliseconds, when it happened
	Data      CallData `json:"data"`
}

// CallData describes the call; the fields after CallType are set by the events they belong
// to.
type CallData struct {
	Caller       string      `json:"caller"`
	CallerDevice string      `json:"callerDevice"`
	Callee       string      `json:"callee"`
	CallType     int         `json:"callType"`
	Device       string      `json:"device,omitempty"`      // ringing, accepted: the callee device
	ConnectType  int         `json:"connectType,omitempty"` // connected
	Reason       *int        `json:"reason,omitempty"`      // ended
	By           string      `json:"by,omitempty"`          // ended by this user; absent when the server ended it
	Record       *CallRecord `json:"record,omitempty"`      // ended
}

// CallRecord is the record of an ended call: the one type of GET /{org}/{app}/calls
// (api.Call) and of the call.ended webhook. Times are unix ms, 0 when the step never
// happened; type, endReason and connectType are the protocol's numbers.
type CallRecord struct {
	ID           string `json:"id"`
	Caller       string `json:"caller"`
	CallerDevice string `json:"callerDevice"`
	Callee       string `json:"callee"`
	CalleeDevice string `json:"calleeDevice"`
	Type         int    `json:"type"`
	Ext          string `json:"ext"`
	Record       bool   `json:"record"`
	MergeStream  bool   `json:"mergeStream"`
	InvitedAt    int64  `json:"invitedAt"`
	RingingAt    int64  `json:"ringingAt"`
	ConnectedAt  int64  `json:"connectedAt"`
	AcceptedAt   int64  `json:"acceptedAt"`
	EndedAt      int64  `json:"endedAt"`
	EndReason    int    `json:"endReason"`
	EndedBy      string `json:"endedBy"`
	ConnectType  int    `json:"connectType"`
	// ServerVideoID names the call's recordings (GET .../recordings?serverVideoId=); set
	// for recorded calls.
	ServerVideoID string `json:"serverVideoId,omitempty"`
	// Quality sums up what each party's device reported of the call (call.quality; see
	// docs/REST.md "Call quality"); absent when neither reported.
	Quality *quality.PartyQuality `json:"quality,omitempty"`
}

// RecordOf is the record of a stored call.
func RecordOf(c store.CallRecord) CallRecord {
	return CallRecord{ID: c.ID, Caller: c.Caller, CallerDevice: c.CallerDevice, Callee: c.Callee,
		CalleeDevice: c.CalleeDevice, Type: c.Type, Ext: c.Ext, Record: c.Record, MergeStream: c.MergeStream,
		InvitedAt: millis(c.InvitedAt), RingingAt: millis(c.RingingAt), ConnectedAt: millis(c.ConnectedAt),
		AcceptedAt: millis(c.AcceptedAt), EndedAt: millis(c.EndedAt), EndReason: c.EndReason, EndedBy: c.EndedBy,
		ConnectType: c.ConnectType, ServerVideoID: c.ServerVideoID}
}

// EventType is the webhook type of a call step: "call." and its name.
func EventType(k callflow.EventKind) string { return "call." + k.String() }

// RecordHook completes the record of an ended call before its call.ended is stored (the
// server adds the parties' quality).
type RecordHook func(app string, rec *CallRecord)

// PayloadOf builds the webhook body of ev.
func PayloadOf(ev callflow.Event) Payload { return payloadOf(ev, nil) }

func payloadOf(ev callflow.Event, hook RecordHook) Payload {
	p := Payload{
		ID: ev.CallID + "-" + strconv.Itoa(ev.Seq), Type: EventType(ev.Kind), App: ev.App,
		CallID: ev.CallID, Seq: ev.Seq, Timestamp: millis(ev.At),
		Data: CallData{Caller: ev.Caller, CallerDevice: ev.CallerDevice, Callee: ev.Callee,
			CallType: int(ev.Type), Device: ev.Device, ConnectType: int(ev.ConnectType)},
	}
	if ev.Kind == callflow.EventEnded {
		r := int(ev.Reason)
		p.Data.Reason, p.Data.By = &r, ev.By
		if ev.Record != nil {
			rec := recordOf(*ev.Record)
			if hook != nil {
				hook(ev.App, &rec)
			}
			p.Data.Record = &rec
		}
	}
	return p
}

// eventOf is the outbox row of ev.
func eventOf(ev callflow.Event, hook RecordHook) (store.WebhookEvent, error) {
	p := payloadOf(ev, hook)
	body, err := json.Marshal(p)
	if err != nil {
		return store.WebhookEvent{}, err
	}
	return store.WebhookEvent{App: ev.App, CallID: ev.CallID, EventID: p.ID, Type: p.Type, Body: body}, nil
}

func recordOf(c callflow.Record) CallRecord {
	svid := ""
	if c.Record {
		svid = store.ServerVideoIDOf(c.App, c.ID)
	}
	return CallRecord{ServerVideoID: svid,
		ID: c.ID, Caller: c.Caller, CallerDevice: c.CallerDevice, Callee: c.Callee,
		CalleeDevice: c.CalleeDevice, Type: int(c.Type), Ext: c.Ext, Record: c.Record,
		MergeStream: c.MergeStream, InvitedAt: millis(c.InvitedAt), RingingAt: millis(c.RingingAt),
		ConnectedAt: millis(c.ConnectedAt), AcceptedAt: millis(c.AcceptedAt), EndedAt: millis(c.EndedAt),
		EndReason: int(c.EndReason), EndedBy: c.EndedBy, ConnectType: int(c.ConnectType),
	}
}
