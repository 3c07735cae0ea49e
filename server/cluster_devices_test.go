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
)

// TestClusterMaxDevices: --max-devices counts a user's devices on every node: with a limit
// of 2, a device on node 1 and one on node 2 leave no room for a third on node 1, while a
// device that reconnects to another node keeps its place.
func TestClusterMaxDevices(t *testing.T) {
	if testing.Short() {
		t.Skip("runs nats-server processes")
	}
	nc := natstest.Start(t, 3)
	t.Cleanup(func() {
		for i := range 3 {
			nc.Kill(i)
		}
	})
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
	if _, err := dial(0, "phone"); err != nil {
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
