package server_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/duet-rtc/duet/protocol"
)

// TestClusterGlareAndBusy: the call rules hold when the parties sit on different nodes of a
// cluster (nodes in this process, NATS as processes). b (node 2) calls a (node 1); a, being
// rung, calls b: glare (rule 7) answers b's call with a's invite. c (node 3) then calls a,
// who is in that call: Busy. The operator ends the a–b call through node 3. c is then deleted through node 1, and its device on node 3 is
// kicked.
func TestClusterGlareAndBusy(t *testing.T) {
	if testing.Short() {
		t.Skip("runs nats-server processes")
	}
	nodes := startBenchCluster(t, 3, true)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a, err := dialDevice(ctx, nodes[0].URL, userToken(t, nodes[0], "a"), "a1")
	if err != nil {
		t.Fatal(err)
	}
	b, err := dialDevice(ctx, nodes[1].URL, userToken(t, nodes[1], "b"), "b1")
	if err != nil {
		t.Fatal(err)
	}
	c, err := dialDevice(ctx, nodes[2].URL, userToken(t, nodes[2], "c"), "c1")
	if err != nil {
		t.Fatal(err)
	}
	// Closed before the nodes stop (cleanups run last first): a device that does not answer
	// a drain's close holds its node's shutdown for 2 s.
	t.Cleanup(func() { a.ws.CloseNow(); b.ws.CloseNow(); c.ws.CloseNow() })
	if err := b.send(ctx, protocol.TypeCallInvite, "ib", protocol.CallInvite{To: "a", Type: protocol.CallVoice}); err != nil {
		t.Fatal(err)
	}
	var bCall protocol.CallInvited
	env, err := b.readUntil(ctx, protocol.TypeReply)
	if err != nil || env.DecodeDataLoose(&bCall) != nil {
		t.Fatalf("b's invite: %v", err)
	}
	if _, err := a.readUntil(ctx, protocol.TypeCallIncoming); err != nil {
		t.Fatal(err)
	}
	if err := a.send(ctx, protocol.TypeCallInvite, "ia", protocol.CallInvite{To: "b", Type: protocol.CallVoice}); err != nil {
		t.Fatal(err)
	}
	var aCall protocol.CallInvited
	env, err = a.readUntil(ctx, protocol.TypeReply)
	if err != nil || env.DecodeDataLoose(&aCall) != nil {
		t.Fatalf("a's invite: %v", err)
	}
	if !aCall.Glare || aCall.CallID != bCall.CallID {
		t.Fatalf("a's invite got %+v; want glare with b's call %s", aCall, bCall.CallID)
	}
	if _, err := b.readUntil(ctx, protocol.TypeCallAccepted); err != nil {
		t.Fatalf("b: %v", err)
	}

	if err := c.send(ctx, protocol.TypeCallInvite, "ic", protocol.CallInvite{To: "a", Type: protocol.CallVoice}); err != nil {
		t.Fatal(err)
	}
	env, err = c.readUntil(ctx, protocol.TypeCallEnded)
	var ended protocol.CallEnded
	if err != nil || env.DecodeDataLoose(&ended) != nil || ended.Reason != protocol.EndBusy {
		t.Fatalf("c's call: %+v, %v; want ended Busy", ended, err)
	}

	// The operator, through node 3, lists the a–b call (live calls come from the store) and
	// ends it: its owner decides, wherever that is.
	if live := liveCalls(t, nodes[2]); len(live) != 1 || live[0].ID != bCall.CallID {
		t.Fatalf("live calls through node 3: %+v", live)
	}
	if status, body := nodes[2].Do(http.MethodDelete, "/admin/v1/apps/demo/duet/calls/"+bCall.CallID+"?reason=9", nodes[2].AdminToken(), nil); status != http.StatusOK {
		t.Fatalf("operator end through node 3: %d %s", status, body)
	}
	for _, d := range []*rawDevice{a, b} {
		env, err := d.readUntil(ctx, protocol.TypeCallEnded)
		var ended protocol.CallEnded
		if err != nil || env.DecodeDataLoose(&ended) != nil || ended.Reason != protocol.EndBeenKicked {
			t.Fatalf("call.ended %+v, %v; want BeenKicked", ended, err)
		}
	}

	// c is deleted through node 1: its device on node 3 is kicked (Destroy).
	status, _ := nodes[0].Do(http.MethodDelete, "/admin/v1/apps/demo/duet/users/c", nodes[0].AdminToken(), nil)
	if status != http.StatusOK {
		t.Fatalf("delete c: status %d", status)
	}
	env, err = c.readUntil(ctx, protocol.TypeKicked)
	var kicked protocol.Kicked
	if err != nil || env.DecodeDataLoose(&kicked) != nil || kicked.Reason != protocol.EndDestroy {
		t.Fatalf("c's device after the deletion: %+v, %v; want kicked Destroy", kicked, err)
	}

	// Each node shows its part of the cluster in /metrics.
	for i, n := range nodes {
		status, body := n.Do(http.MethodGet, "/metrics", "", nil)
		if status != http.StatusOK || !strings.Contains(string(body), "duet_cluster_peers 2") ||
			!strings.Contains(string(body), "duet_cluster_nats_connected 1") ||
			!strings.Contains(string(body), "duet_cluster_partitions_owned") {
			t.Fatalf("node %d's /metrics (%d) lacks the cluster gauges", i+1, status)
		}
	}
}
