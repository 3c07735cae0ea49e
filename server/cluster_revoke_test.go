package server_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/duet-rtc/duet/protocol"
)

// TestClusterRevocation: a logout through one node closes, within a second, the connection
// the token opened on another node, and that node refuses the token from then on although
// its cache had it.
func TestClusterRevocation(t *testing.T) {
	if testing.Short() {
		t.Skip("runs nats-server processes")
	}
	nodes := startBenchCluster(t, 2, true)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tok := userToken(t, nodes[0], "rita")
	d, err := dialDevice(ctx, nodes[1].URL, tok, "phone")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.ws.CloseNow() })
	start := time.Now()
	if status, body := nodes[0].Do(http.MethodPost, "/"+strings.Replace(nodes[0].AppKey, "#", "/", 1)+"/logout", tok, nil); status != http.StatusOK {
		t.Fatalf("logout: %d %s", status, body)
	}
	env, err := d.readUntil(ctx, protocol.TypeKicked)
	var k protocol.Kicked
	if err != nil || env.DecodeDataLoose(&k) != nil || k.Reason != protocol.EndTokenRevoked {
		t.Fatalf("kicked %+v, %v; want reason %d", k, err, protocol.EndTokenRevoked)
	}
	took := time.Since(start)
	t.Logf("logout on node 1 closed the session on node 2 in %v", took)
	if took > time.Second {
		t.Fatalf("took %v", took)
	}
	if _, err := dialDevice(ctx, nodes[1].URL, tok, "phone2"); protocol.CodeOf(err) != protocol.CodeInvalidToken {
		t.Fatalf("node 2 after the logout: %v; want code %d", err, protocol.CodeInvalidToken)
	}
}
