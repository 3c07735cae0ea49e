package cluster

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/duet-rtc/duet/internal/natstest"
	"github.com/duet-rtc/duet/protocol"
	"github.com/duet-rtc/duet/server/route"
	"github.com/duet-rtc/duet/server/store/postgres/pgtest"
)

// testHost is a Host that records what its node tells it.
type testHost struct {
	mu       sync.Mutex
	owned    map[int]bool
	acquired []int
	frames   map[route.Device][][]byte
	changes  []Change
	handled  []string // "p/op/device"
}

func newTestHost() *testHost {
	return &testHost{owned: map[int]bool{}, frames: map[route.Device][][]byte{}}
}

func (h *testHost) DeliverFrame(dev route.Device, frame []byte) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.frames[dev] = append(h.frames[dev], frame)
	return true
}
func (h *testHost) DeliverChat(route.Device, []byte)     {}
func (h *testHost) Notified(string, []byte)              {}
func (h *testHost) Heartbeat()                           {}
func (h *testHost) Reconnected()                         {}
func (h *testHost) Answer(string, []byte) ([]byte, bool) { return nil, false }
func (h *testHost) PresenceChanged(ch []Change) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.changes = append(h.changes, ch...)
}
func (h *testHost) Acquire(p int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.owned[p] = true
	h.acquired = append(h.acquired, p)
}
func (h *testHost) Release(p int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.owned, p)
}
func (h *testHost) HandleForwarded(p int, req *Request) ([]byte, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.owned[p] {
		return nil, false
	}
	h.handled = append(h.handled, fmt.Sprintf("%d/%s/%s", p, req.Op, req.Device.ID))
	return []byte(`{"type":"reply","id":"` + req.Device.ID + `"}`), true
}

func (h *testHost) ownedCount() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.owned)
}

// testCluster starts a NATS cluster and returns a function that starts nodes on it, on
// a fresh PostgreSQL database.
func testCluster(t *testing.T) func(id string) (*Node, *testHost) {
	start, _ := testClusterNATS(t)
	return start
}

// testClusterNATS is testCluster that also returns the NATS cluster, to kill it.
func testClusterNATS(t *testing.T) (func(id string) (*Node, *testHost), *natstest.Cluster) {
	if testing.Short() {
		t.Skip("runs nats-server processes")
	}
	db := pgtest.URL(t) // skips without DUET_TEST_POSTGRES
	nc := natstest.Start(t, 1)
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	return func(id string) (*Node, *testHost) {
		h := newTestHost()
		n, err := Start(Config{NodeID: id, NATS: nc.URLs(), Heartbeat: 100 * time.Millisecond,
			NodeTimeout: 600 * time.Millisecond, Logger: logger}, h, NewLeases(db))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(n.Close)
		return n, h
	}, nc
}

func eventually(t *testing.T, what string, within time.Duration, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(within); !ok(); {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, within)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestPartitionsSpreadAndFailOver: three nodes share the 16 partitions, each one owned by
// exactly one node; when a node goes away its partitions are taken by the others.
func TestPartitionsSpreadAndFailOver(t *testing.T) {
	start := testCluster(t)
	var nodes []*Node
	var hosts []*testHost
	for _, id := range []string{"n1", "n2", "n3"} {
		n, h := start(id)
		nodes, hosts = append(nodes, n), append(hosts, h)
	}
	total := func(hs ...*testHost) int {
		sum := 0
		for _, h := range hs {
			sum += h.ownedCount()
		}
		return sum
	}
	// Never two owners of one partition (a handoff may leave none for a moment), and soon
	// exactly one each, spread evenly.
	owners := func(p int) int {
		n := 0
		for _, node := range nodes {
			if node.Owns(p) {
				n++
			}
		}
		return n
	}
	eventually(t, "16 partitions owned once each, spread over 3 nodes", 10*time.Second, func() bool {
		for p := range 16 {
			switch owners(p) {
			case 0:
				return false
			case 1:
			default:
				// Nodes are asked one after the other: a handoff between two questions can
				// count a partition twice. Twice in a row is two owners.
				if n := owners(p); n > 1 {
					t.Fatalf("partition %d has %d owners", p, n)
				}
				return false
			}
		}
		return hosts[0].ownedCount() <= 6 && hosts[1].ownedCount() <= 6 && hosts[2].ownedCount() <= 6
	})
	gone := hosts[0].ownedCount()
	nodes[0].Close()
	began := time.Now()
	eventually(t, "the remaining nodes own all 16", 10*time.Second, func() bool { return total(hosts[1:]...) == 16 })
	t.Logf("%d partitions of a closed node taken over in %v", gone, time.Since(began).Round(time.Millisecond))
}

// TestPresenceAndForwarding: a device online on one node is seen by another, a frame sent
// to it from there arrives, requests go to the owner of the partition in order, and the
// device is gone from the replica when it leaves, or when its node goes silent.
func TestPresenceAndForwarding(t *testing.T) {
	start := testCluster(t)
	n1, _ := start("n1")
	n2, h2 := start("n2")
	dev := route.Online{Device: route.Device{App: "org#app", User: "bob", ID: "phone"},
		Capabilities: protocol.Capabilities{Audio: true}}
	n1.Online(dev)
	eventually(t, "n2 sees bob's phone on n1", 5*time.Second, func() bool {
		node, ok := n2.Replica().Lookup(dev.Device)
		return ok && node == "n1"
	})
	if got := n2.Replica().OnlineDevices("org#app", "bob"); len(got) != 1 || !got[0].Capabilities.Audio {
		t.Fatalf("n2's directory lists %+v", got)
	}
	eventually(t, "all partitions owned", 10*time.Second, func() bool {
		owned := 0
		for p := range 16 {
			if n1.Owns(p) || n2.Owns(p) {
				owned++
			}
		}
		return owned == 16
	})
	// Requests from n1 for a partition n2 owns are handled on n2, in order.
	p := -1
	for q := range 16 {
		if n2.Owns(q) {
			p = q
			break
		}
	}
	for i := range 20 {
		d := dev
		d.ID = fmt.Sprint("d", i%3)
		reply, err := n1.Forward(p, &Request{Op: OpMessage, Device: d, Frame: json.RawMessage(`{}`)})
		if err != nil || len(reply) == 0 {
			t.Fatalf("forward %d: %q, %v", i, reply, err)
		}
	}
	h2.mu.Lock()
	if len(h2.handled) != 20 {
		t.Fatalf("n2 handled %d requests, want 20", len(h2.handled))
	}
	h2.mu.Unlock()
	// A frame from n2 for the device on n1.
	n2.SendTo("n1", dev.Device, []byte(`{"type":"x"}`))
	n1.Offline(dev.Device)
	eventually(t, "n2 sees bob's phone gone", 5*time.Second, func() bool {
		_, ok := n2.Replica().Lookup(dev.Device)
		return !ok
	})
	n1.Online(dev)
	eventually(t, "back", 5*time.Second, func() bool { _, ok := n2.Replica().Lookup(dev.Device); return ok })
	n1.Close() // stops its heartbeats: n2 drops its devices
	eventually(t, "n2 drops the devices of silent n1", 5*time.Second, func() bool {
		_, ok := n2.Replica().Lookup(dev.Device)
		return !ok
	})
	// The host hears of it after the replica changed: wait for that too.
	eventually(t, "n2's host told the device is gone", 5*time.Second, func() bool {
		h2.mu.Lock()
		defer h2.mu.Unlock()
		var last Change
		for _, c := range h2.changes {
			if c.Device == dev.Device {
				last = c
			}
		}
		return last.Device == dev.Device && !last.Online
	})
}

// TestCutOffNodeStopsDeciding: a node that loses NATS gives its partitions up (it could not
// hear the other nodes, so it must not decide alone) and takes its share again when NATS is
// back.
func TestCutOffNodeStopsDeciding(t *testing.T) {
	start, nc := testClusterNATS(t)
	_, h := start("n1")
	eventually(t, "n1 owns every partition", 10*time.Second, func() bool { return h.ownedCount() == 16 })
	nc.Kill(0)
	eventually(t, "n1 gives every partition up", 10*time.Second, func() bool { return h.ownedCount() == 0 })
	nc.Restart(0)
	eventually(t, "n1 owns every partition again", 15*time.Second, func() bool { return h.ownedCount() == 16 })
}
