package server_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/duet-rtc/duet/internal/natstest"
	"github.com/duet-rtc/duet/protocol"
	"github.com/duet-rtc/duet/server"
	"github.com/duet-rtc/duet/server/servertest"
	"github.com/duet-rtc/duet/server/store/postgres"
	"github.com/duet-rtc/duet/server/store/postgres/pgtest"
)

// TestClusterRevocationWhileCutOff: a logout made through node 1 while node 2 is cut off
// from NATS (its kick notice is lost) still closes the session on node 2, once node 2's
// NATS connection is back, and node 2 refuses the token from then on although its cache
// had it.
func TestClusterRevocationWhileCutOff(t *testing.T) {
	if testing.Short() {
		t.Skip("runs nats-server processes")
	}
	nc := natstest.Start(t, 3)
	t.Cleanup(func() {
		for i := range 3 {
			nc.Kill(i)
		}
	})
	// Each node knows one NATS server only, so that killing server 2 cuts node 2 off.
	nodes := startNodes(t, 2, func(i int, c *server.Config) { c.Cluster.NATS = nc.URLs()[i : i+1] })

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	tok := userToken(t, nodes[0], "rita")
	d, err := dialDevice(ctx, nodes[1].URL, tok, "phone")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.ws.CloseNow() })

	nc.Kill(1) // node 2's only NATS server
	path := "/" + strings.Replace(nodes[0].AppKey, "#", "/", 1) + "/logout"
	if status, body := nodes[0].Do(http.MethodPost, path, tok, nil); status != http.StatusOK {
		t.Fatalf("logout: %d %s", status, body)
	}
	nc.Restart(1)

	env, err := d.readUntil(ctx, protocol.TypeKicked)
	var k protocol.Kicked
	if err != nil || env.DecodeDataLoose(&k) != nil || k.Reason != protocol.EndTokenRevoked {
		t.Fatalf("kicked %+v, %v; want reason %d once node 2 is back on NATS", k, err, protocol.EndTokenRevoked)
	}
	if _, err := dialDevice(ctx, nodes[1].URL, tok, "phone2"); protocol.CodeOf(err) != protocol.CodeInvalidToken {
		t.Fatalf("node 2 after the logout: %v; want code %d", err, protocol.CodeInvalidToken)
	}
}

// startNodes starts n cluster nodes on the test PostgreSQL, each changed by mod (which sets
// Cluster.NATS), and waits until they share the partitions.
func startNodes(t *testing.T, n int, mod func(i int, c *server.Config)) []*servertest.Server {
	t.Helper()
	url := pgtest.URL(t)
	var nodes []*servertest.Server
	for i := range n {
		st, err := postgres.Open(context.Background(), url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		nodes = append(nodes, servertest.Start(t, func(c *server.Config) {
			c.Store, c.DeviceRateLimit = st, -1
			c.Cluster = server.ClusterConfig{NodeID: fmt.Sprint("n", i+1), DatabaseURL: url}
			c.SecretKey = "one key for every node of the test cluster"
			mod(i, c)
		}))
	}
	waitPartitions(t, nodes)
	return nodes
}
