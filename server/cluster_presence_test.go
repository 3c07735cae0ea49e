package server_test

import (
	"context"
	"encoding/json"
	"net/http"
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

	// A contacts subscription on node 1 follows a list changed through node 2: the added
	// contact's state is pushed, then its changes.
	c, err := dialDevice(ctx, nodes[0].URL, userToken(t, nodes[0], "c"), "c1")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.ws.CloseNow() })
	if got := subscribe(ctx, t, c, protocol.PresenceSubscribe{Contacts: true}); len(got.Presence) != 0 {
		t.Fatalf("c has no contacts yet: %+v", got)
	}
	st, body := nodes[1].Do(http.MethodPost, "/demo/duet/token", "", []byte(`{"grant_type":"password","username":"c","password":"pw"}`))
	var tr struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(body, &tr); st != http.StatusOK || err != nil {
		t.Fatalf("c logs in through node 2: %d %s", st, body)
	}
	if st, body := nodes[1].Do(http.MethodPost, "/demo/duet/users/c/contacts/users/b", tr.AccessToken, nil); st != http.StatusOK {
		t.Fatalf("c adds b through node 2: %d %s", st, body)
	}
	if p := presenceOf(ctx, t, c); p != (protocol.Presence{Username: "b"}) {
		t.Fatalf("b added to c's contacts: %+v; want b offline", p)
	}
	b, err = dialDevice(ctx, nodes[1].URL, btok, "b1")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.ws.CloseNow() })
	if p := presenceOf(ctx, t, c); p != (protocol.Presence{Username: "b", Online: true}) {
		t.Fatalf("c's contact b online on node 2: %+v", p)
	}
}
