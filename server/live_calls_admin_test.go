package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/duet-rtc/duet/protocol"
	"github.com/duet-rtc/duet/server/api"
	"github.com/duet-rtc/duet/server/servertest"
)

// liveCalls lists an app's calls in progress through the admin API of srv.
func liveCalls(t *testing.T, srv *servertest.Server) []api.LiveCall {
	t.Helper()
	status, body := srv.Do(http.MethodGet, "/admin/v1/apps/demo/duet/calls/live", srv.AdminToken(), nil)
	var resp api.Response[api.LiveCall]
	if status != http.StatusOK || json.Unmarshal(body, &resp) != nil {
		t.Fatalf("live calls: %d %s", status, body)
	}
	return resp.Entities
}

// TestOperatorEndsLiveCall: the admin API lists a call in progress and ends it; both
// devices are told call.ended with the operator's reason, and the record keeps it.
func TestOperatorEndsLiveCall(t *testing.T) {
	srv := servertest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	alice, err := dialDevice(ctx, srv.URL, userToken(t, srv, "alice"), "a1")
	if err != nil {
		t.Fatal(err)
	}
	bob, err := dialDevice(ctx, srv.URL, userToken(t, srv, "bob"), "b1")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { alice.ws.CloseNow(); bob.ws.CloseNow() })
	id := answeredRawCall(ctx, t, alice, bob, "bob")
	srv.FlushCallRecords()
	live := liveCalls(t, srv)
	if len(live) != 1 || live[0].ID != id || live[0].State != "accepted" || live[0].Caller != "alice" || live[0].CalleeDevice != "b1" {
		t.Fatalf("live calls %+v", live)
	}
	if status, _ := srv.Do(http.MethodDelete, "/admin/v1/apps/demo/duet/calls/"+id+"?reason=0", srv.AdminToken(), nil); status != http.StatusBadRequest {
		t.Fatalf("reason 0: %d, want 400", status)
	}
	if status, _ := srv.Do(http.MethodDelete, "/admin/v1/apps/demo/duet/calls/nosuchcall", srv.AdminToken(), nil); status != http.StatusNotFound {
		t.Fatalf("no such call: %d, want 404", status)
	}
	if status, body := srv.Do(http.MethodDelete, "/admin/v1/apps/demo/duet/calls/"+id, srv.AdminToken(), nil); status != http.StatusOK {
		t.Fatalf("end: %d %s", status, body)
	}
	for _, d := range []*rawDevice{alice, bob} {
		env, err := d.readUntil(ctx, protocol.TypeCallEnded)
		var ended protocol.CallEnded
		if err != nil || env.DecodeDataLoose(&ended) != nil || ended.Reason != protocol.EndServiceForbidden || ended.By != "" {
			t.Fatalf("call.ended %+v, %v; want reason 103 by nobody", ended, err)
		}
	}
	if live := liveCalls(t, srv); len(live) != 0 {
		t.Fatalf("still live: %+v", live)
	}
	rec, err := srv.Store().GetCall(ctx, srv.AppKey, id)
	if err != nil || rec.EndReason != int(protocol.EndServiceForbidden) || rec.EndedBy != "" {
		t.Fatalf("record %+v, %v", rec, err)
	}
}

// answeredRawCall has caller invite to and callee answer, and returns the call id.
func answeredRawCall(ctx context.Context, t *testing.T, caller, callee *rawDevice, to string) string {
	t.Helper()
	if err := caller.send(ctx, protocol.TypeCallInvite, "i", protocol.CallInvite{To: to, Type: protocol.CallVoice}); err != nil {
		t.Fatal(err)
	}
	env, err := caller.readUntil(ctx, protocol.TypeReply)
	var inv protocol.CallInvited
	if err != nil || env.DecodeDataLoose(&inv) != nil {
		t.Fatalf("invite: %v", err)
	}
	if _, err := callee.readUntil(ctx, protocol.TypeCallIncoming); err != nil {
		t.Fatal(err)
	}
	if err := callee.send(ctx, protocol.TypeCallAnswer, "a", protocol.CallRef{CallID: inv.CallID}); err != nil {
		t.Fatal(err)
	}
	if _, err := caller.readUntil(ctx, protocol.TypeCallAccepted); err != nil {
		t.Fatal(err)
	}
	return inv.CallID
}
