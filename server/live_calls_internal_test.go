package server

import (
	"reflect"
	"testing"
	"time"

	"github.com/duet-rtc/duet/protocol"
	"github.com/duet-rtc/duet/server/callflow"
	"github.com/duet-rtc/duet/server/store"
)

// A call's state comes back from its store row as it went in.
func TestLiveCallRoundTrip(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	in := callflow.State{
		ID: "c1", App: "org#app", Caller: "alice", CallerDevice: "a1", Callee: "bob",
		Type: protocol.CallVideo, Ext: `{"x":1}`, Record: true, MergeStream: true,
		Accepted: true, Answered: "b2", Legs: []callflow.Leg{{Device: "b1"}, {Device: "b2", Ringing: true}},
		CallerICE: []protocol.ICEServer{{URLs: []string{"turn:127.0.0.1:3478"}, Username: "u", Credential: "p"}},
		InvitedAt: at, RingingAt: at.Add(time.Second), ConnectedAt: at.Add(2 * time.Second), AcceptedAt: at.Add(3 * time.Second),
		ConnectType: protocol.ConnectRelay, Grace: [2]time.Time{at.Add(time.Minute), {}}, Events: 4,
	}
	out, err := stateOf(liveCallOf(&in, at))
	if err != nil || !reflect.DeepEqual(in, out) {
		t.Fatalf("round trip\n got %+v (%v)\nwant %+v", out, err, in)
	}
	for name, mutate := range map[string]func(*store.LiveCall){
		"legs":     func(r *store.LiveCall) { r.Legs = []byte(`[{"device":`) },
		"ice":      func(r *store.LiveCall) { r.ICE = []byte(`{`) },
		"state":    func(r *store.LiveCall) { r.State = 7 },
		"type":     func(r *store.LiveCall) { r.Type = 9 },
		"no ids":   func(r *store.LiveCall) { r.Caller = "" },
		"answered": func(r *store.LiveCall) { r.Answered = "" },
		"a leg":    func(r *store.LiveCall) { r.Legs = []byte(`[{"device":""}]`) },
		"invited":  func(r *store.LiveCall) { r.Events = 0 },
	} {
		row := liveCallOf(&in, at)
		mutate(&row)
		if s, err := stateOf(row); err == nil || !s.Damaged || s.ID != "c1" {
			t.Errorf("%s: damaged %v, err %v", name, s.Damaged, err)
		}
	}
}
