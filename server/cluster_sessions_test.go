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

// The sessions of a cluster: revocations reach every node, also one that was cut off when
// they were made, and --max-devices counts the devices on every node.

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
	tok, d := deviceOnNode2(ctx, t, nodes)
	start := time.Now()
	logout(t, nodes[0], tok)
	expectRevoked(ctx, t, d, nodes[1], tok)
	took := time.Since(start)
	t.Logf("logout on node 1 closed the session on node 2 in %v", took)
	if took > time.Second {
		t.Fatalf("took %v", took)
	}
}

// TestClusterRevocationWhileCutOff: a logout made through node 1 while node 2 is cut off
// from NATS (its kick notice is lost) still closes the session on node 2, once node 2's
// NATS connection is back, and node 2 refuses the token from then on although its cache
// had it.
func TestClusterRevocationWhileCutOff(t *testing.T) {
	if testing.Short() {
		t.Skip("runs nats-server processes")
	}
	nc := natstest.Start(t, 3)
	// Each node knows one NATS server only, so that killing server 2 cuts node 2 off.
	nodes := startNodes(t, 2, func(i int, c *server.Config) { c.Cluster.NATS = nc.URLs()[i : i+1] })
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	tok, d := deviceOnNode2(ctx, t, nodes)
	nc.Kill(1) // node 2's only NATS server
	logout(t, nodes[0], tok)
	nc.Restart(1)
	expectRevoked(ctx, t, d, nodes[1], tok)
}

// deviceOnNode2 logs rita in through node 1 and connects her phone to node 2.
func deviceOnNode2(ctx context.Context, t *testing.T, nodes []*servertest.Server) (string, *rawDevice) {
	t.Helper()
	tok := userToken(t, nodes[0], "rita")
	d, err := dialDevice(ctx, nodes[1].URL, tok, "phone")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.ws.CloseNow() })
	return tok, d
}

// logout revokes tok through node.
func logout(t *testing.T, node *servertest.Server, tok string) {
	t.Helper()
	path := "/" + strings.Replace(node.AppKey, "#", "/", 1) + "/logout"
	if status, body := node.Do(http.MethodPost, path, tok, nil); status != http.StatusOK {
		t.Fatalf("logout: %d %s", status, body)
	}
}

// expectRevoked checks that d, connected to node with tok, is kicked TokenRevoked and that
// node refuses tok from then on although its cache had it.
func expectRevoked(ctx context.Context, t *testing.T, d *rawDevice, node *servertest.Server, tok string) {
	t.Helper()
	env, err := d.readUntil(ctx, protocol.TypeKicked)
	var k protocol.Kicked
	if err != nil || env.DecodeDataLoose(&k) != nil || k.Reason != protocol.EndTokenRevoked {
		t.Fatalf("kicked %+v, %v; want reason %d", k, err, protocol.EndTokenRevoked)
	}
	if _, err := dialDevice(ctx, node.URL, tok, "phone2"); protocol.CodeOf(err) != protocol.CodeInvalidToken {
		t.Fatalf("%s after the logout: %v; want code %d", node.URL, err, protocol.CodeInvalidToken)
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

// TestClusterMaxDevices: --max-devices counts a user's devices on every node: with a limit
// of 2, a device on node 1 and one on node 2 leave no room for a third on node 1, while a
// device that reconnects to another node keeps its place. The admin API of either node
// lists and kicks devices on the other.
func TestClusterMaxDevices(t *testing.T) {
	if testing.Short() {
		t.Skip("runs nats-server processes")
	}
	nc := natstest.Start(t, 3)
	nodes := startNodes(t, 2, func(_ int, c *server.Config) {
		c.Cluster.NATS = nc.URLs()
		c.MaxDevicesPerUser = 2
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tok := userToken(t, nodes[0], "mia")
	dial := func(node int, id string) (*rawDevice, error) {
		d, err := dialDevice(ctx, nodes[node].URL, tok, id)
		if err == nil {
			t.Cleanup(func() { d.ws.CloseNow() })
		}
		return d, err
	}
	phone, err := dial(0, "phone")
	if err != nil {
		t.Fatal(err)
	}
	tablet, err := dial(1, "tablet")
	if err != nil {
		t.Fatal(err)
	}
	waitRemoteDevices(t, nodes[0], 1)
	if _, err := dial(0, "laptop"); protocol.CodeOf(err) != protocol.CodeTooManyDevices {
		t.Fatalf("a third device with one on each node: %v; want code %d", err, protocol.CodeTooManyDevices)
	}
	// The tablet moves from node 2 to node 1: it is the same device, not a third one.
	tablet.ws.CloseNow()
	if _, err := dial(0, "tablet"); err != nil {
		t.Fatalf("the tablet moving to node 1: %v", err)
	}

	// The operator, through node 2, sees both devices on node 1 and kicks the phone there.
	waitUntilDevices(t, nodes[1], "mia", 2)
	if status, body := kickDevice(nodes[1], "mia", "phone"); status != http.StatusOK {
		t.Fatalf("kick through node 2: %d %s", status, body)
	}
	expectKicked(ctx, t, phone, protocol.EndBeenKicked)
}

// waitRemoteDevices waits until node's replica counts want devices on the other nodes.
func waitRemoteDevices(t *testing.T, node *servertest.Server, want int) {
	t.Helper()
	line := fmt.Sprint("duet_cluster_remote_devices ", want)
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, body := node.Do(http.MethodGet, "/metrics", "", nil)
		if strings.Contains(string(body), line+"\n") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never showed %q", node.URL, line)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
