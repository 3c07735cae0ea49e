package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/duet-rtc/duet/internal/natstest"
	"github.com/duet-rtc/duet/protocol"
	"github.com/duet-rtc/duet/server"
	"github.com/duet-rtc/duet/server/cluster"
	"github.com/duet-rtc/duet/server/servertest"
	"github.com/duet-rtc/duet/server/store/postgres"
	"github.com/duet-rtc/duet/server/store/postgres/pgtest"
)

// BenchmarkClusterCallCycle measures whole calls without media over real WebSockets, as
// BenchmarkSignallingCallCycle does, on PostgreSQL, in four layouts run side by side:
//   - single: one node without a cluster (the baseline);
//   - 1-node: one node of a cluster (NATS on the path, every partition owned here);
//   - 3-nodes-same: three nodes, each pair's caller and callee on the same node, pairs spread
//     over the nodes (a call's owner is on any node);
//   - 3-nodes-cross: three nodes, each pair's caller and callee on different nodes.
//
// Nodes run in the benchmark's process, each with its own connection pool; NATS runs as
// three nats-server processes. It reports cycles/s and invite → call.incoming ("ring")
// latency at p50 and p95.
func BenchmarkClusterCallCycle(b *testing.B) {
	for _, layout := range []struct {
		name  string
		nodes int
		nats  bool
		cross bool
	}{
		{"single", 1, false, false},
		{"1-node", 1, true, false},
		{"3-nodes-same", 3, true, false},
		{"3-nodes-cross", 3, true, true},
	} {
		// One cluster per layout, not per run of the benchmark function (which Go calls
		// again with a larger b.N): set up here, stopped when the layout is done.
		nodes, stop := startBenchClusterFor(b, layout.nodes, layout.nats)
		pairs := benchPairs(b, nodes, layout.cross)
		b.Run(layout.name, func(b *testing.B) { benchClusterCycles(b, nodes, pairs) })
		for _, p := range pairs {
			p.caller.ws.CloseNow()
			p.callee.ws.CloseNow()
		}
		stop()
	}
}

// startBenchCluster starts n nodes on one fresh PostgreSQL database, joined by a 3-server
// NATS cluster when clustered, and waits until the partitions are owned and spread evenly.
// They stop when the test ends.
func startBenchCluster(b testing.TB, n int, clustered bool) []*servertest.Server {
	nodes, _ := startBenchClusterFor(b, n, clustered)
	return nodes
}

// startBenchClusterFor is startBenchCluster that also returns a function stopping it all
// at once (the test's end stops what it left).
func startBenchClusterFor(b testing.TB, n int, clustered bool) ([]*servertest.Server, func()) {
	b.Helper()
	url := pgtest.URL(b)
	var natsURLs []string
	var nc *natstest.Cluster
	if clustered {
		nc = natstest.Start(b, 3)
		natsURLs = nc.URLs()
	}
	var nodes []*servertest.Server
	for i := range n {
		st, err := postgres.Open(context.Background(), url)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { st.Close() })
		nodes = append(nodes, servertest.Start(b, func(c *server.Config) {
			c.Store, c.DeviceRateLimit = st, -1
			if clustered {
				c.Cluster = server.ClusterConfig{NATS: natsURLs, NodeID: fmt.Sprint("n", i+1), DatabaseURL: url}
				c.SecretKey = "one key for every node of the test cluster"
			}
		}))
	}
	if clustered {
		waitPartitions(b, nodes)
	}
	stop := func() {
		for _, s := range nodes {
			s.Stop()
		}
		if nc != nil {
			for i := range 3 {
				nc.Kill(i)
			}
		}
	}
	return nodes, stop
}

// balanced reports whether no node owns more than its share, ceil(16 / nodes): the cluster
// has stopped moving partitions.
func balanced(b testing.TB, nodes []*servertest.Server) bool {
	share := (cluster.DefaultPartitions + len(nodes) - 1) / len(nodes)
	for _, s := range nodes {
		status, body := s.Do(http.MethodGet, "/healthz", "", nil)
		var h struct{ Partitions []int }
		if status != http.StatusOK || json.Unmarshal(body, &h) != nil || len(h.Partitions) > share {
			return false
		}
	}
	return true
}

// waitPartitions waits until the nodes own every partition between them, evenly.
func waitPartitions(b testing.TB, nodes []*servertest.Server) {
	deadline := time.Now().Add(20 * time.Second)
	for {
		owned := 0
		for _, s := range nodes {
			status, body := s.Do(http.MethodGet, "/healthz", "", nil)
			var h struct{ Partitions []int }
			if status == http.StatusOK && json.Unmarshal(body, &h) == nil {
				owned += len(h.Partitions)
			}
		}
		if owned == cluster.DefaultPartitions && balanced(b, nodes) {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d partitions owned after 20 s", owned, cluster.DefaultPartitions)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// benchPair is a caller and a callee, connected to their nodes.
type benchPair struct{ caller, callee *rawDevice }

// benchPairs connects 16 caller/callee pairs, spread over the nodes: each pair's two
// devices on one node, or on two (cross).
func benchPairs(b testing.TB, nodes []*servertest.Server, cross bool) []benchPair {
	const pairs = 16
	ctx := context.Background()
	ps := make([]benchPair, pairs)
	for i := range ps {
		var err error
		at, to := nodes[i%len(nodes)], nodes[i%len(nodes)]
		if cross {
			to = nodes[(i+1)%len(nodes)]
		}
		if ps[i].caller, err = dialDevice(ctx, at.URL, userToken(b, at, fmt.Sprintf("caller%d", i)), "d"); err != nil {
			b.Fatal(err)
		}
		if ps[i].callee, err = dialDevice(ctx, to.URL, userToken(b, to, fmt.Sprintf("callee%d", i)), "d"); err != nil {
			b.Fatal(err)
		}
	}
	return ps
}

func benchClusterCycles(b *testing.B, nodes []*servertest.Server, ps []benchPair) {
	ctx := context.Background()
	var next atomic.Int64
	var wg sync.WaitGroup
	var mu sync.Mutex
	var rings []time.Duration
	b.ResetTimer()
	start := time.Now()
	for i := range ps {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			p := ps[i]
			var mine []time.Duration
			for next.Add(1) <= int64(b.N) {
				ring, err := timedCallCycle(ctx, p.caller, p.callee, fmt.Sprintf("callee%d", i))
				if err != nil {
					b.Error(err)
					return
				}
				mine = append(mine, ring)
			}
			mu.Lock()
			rings = append(rings, mine...)
			mu.Unlock()
		}(i)
	}
	wg.Wait()
	elapsed := time.Since(start)
	for _, s := range nodes {
		s.FlushCallRecords()
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "cycles/s")
	slices.Sort(rings)
	if len(rings) > 0 {
		b.ReportMetric(float64(rings[len(rings)/2].Microseconds()), "ring-p50-µs")
		b.ReportMetric(float64(rings[len(rings)*95/100].Microseconds()), "ring-p95-µs")
	}
}

// timedCallCycle is callCycle that returns how long the invite took to ring the callee.
func timedCallCycle(ctx context.Context, caller, callee *rawDevice, to string) (time.Duration, error) {
	begin := time.Now()
	if err := caller.send(ctx, protocol.TypeCallInvite, "i", protocol.CallInvite{To: to, Type: protocol.CallVoice}); err != nil {
		return 0, err
	}
	if _, err := callee.readUntil(ctx, protocol.TypeCallIncoming); err != nil {
		return 0, fmt.Errorf("incoming: %w", err)
	}
	ring := time.Since(begin)
	env, err := caller.readUntil(ctx, protocol.TypeReply)
	if err != nil {
		return 0, fmt.Errorf("invite: %w", err)
	}
	var inv protocol.CallInvited
	if err := env.DecodeDataLoose(&inv); err != nil {
		return 0, err
	}
	if err := callee.send(ctx, protocol.TypeCallAnswer, "a", protocol.CallRef{CallID: inv.CallID}); err != nil {
		return 0, err
	}
	if _, err := caller.readUntil(ctx, protocol.TypeCallAccepted); err != nil {
		return 0, fmt.Errorf("accepted: %w", err)
	}
	if err := caller.send(ctx, protocol.TypeCallEnd, "e", protocol.CallEnd{CallID: inv.CallID, Reason: protocol.EndHangup}); err != nil {
		return 0, err
	}
	if _, err := callee.readUntil(ctx, protocol.TypeCallEnded); err != nil {
		return 0, fmt.Errorf("ended: %w", err)
	}
	_, err = caller.readUntil(ctx, protocol.TypeReply) // the end's reply
	return ring, err
}
