package server_test

import (
	"context"
	"testing"
	"time"

	"github.com/duet-rtc/duet/protocol"
)

// TestClusterPresence: a subscriber on node 1 learns that a user came online on node 2 and
// went away again (through node 1's presence replica).
func TestClusterPresence(t *testing.T) {
	if testing.Short() {
		t.Skip("runs nats-server processes")
	}
	nodes := startBenchCluster(t, 2, true)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a, err := dialDevice(ctx, nodes[0].URL, userToken(t, nodes[0], "a"), "a1")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.ws.CloseNow() })
	btok := userToken(t, nodes[1], "b")
	if got := subscribe(ctx, t, a, protocol.PresenceSubscribe{App: true}); len(got.Presence) != 0 {
		t.Fatalf("nobody else is online yet: %+v", got)
	}
	b, err := dialDevice(ctx, nodes[1].URL, btok, "b1")
	if err != nil {
		t.Fatal(err)
	}
	if p := presenceOf(ctx, t, a); p != (protocol.Presence{Username: "b", Online: true}) {
		t.Fatalf("b online on node 2: %+v", p)
	}
	if got := subscribe(ctx, t, a, protocol.PresenceSubscribe{Users: []string{"b"}}); len(got.Presence) != 1 || !got.Presence[0].Online {
		t.Fatalf("b by name, from node 1: %+v", got)
	}
	b.ws.CloseNow()
	if p := presenceOf(ctx, t, a); p != (protocol.Presence{Username: "b"}) {
		t.Fatalf("b gone from node 2: %+v", p)
	}
}
