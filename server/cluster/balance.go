package cluster

import (
	"context"
	"hash/fnv"
	"sort"
	"time"
)

// balance keeps this node's share of the partitions, on every heartbeat:
//   - cut off from NATS, it gives every partition up: it could not hear the other nodes or
//     reach devices on them, so it must not decide alone;
//   - when its leases' session died, its locks are gone: it stops deciding at once;
//   - a partition whose lock is free although another node said it held it (that node died
//     or lost the database) is taken at once, beyond this node's share if need be: someone
//     must own it;
//   - otherwise it takes free partitions up to its share, ceil(partitions / live nodes), and
//     gives one up per heartbeat while it holds more than that (a node joined).
func (n *Node) balance() {
	n.balancing.Lock()
	defer n.balancing.Unlock()
	if n.isClosed() {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if !n.nc.IsConnected() {
		n.releaseAll(true)
		return
	}
	lost, err := n.leases.check(ctx)
	if lost {
		n.log.Error("cluster: the database session holding this node's partitions ended; giving them up")
		n.releaseAll(false)
	}
	if err != nil {
		n.log.Warn("cluster: cannot reach the database for partition leases", "err", err)
		return
	}
	// Listen for a few heartbeats before taking anything, so a node that starts beside
	// others does not take every partition first.
	if n.clk.Now().Sub(n.started) < 2*n.cfg.Heartbeat {
		return
	}
	peers := n.replica.Peers()
	share := (n.cfg.Partitions + len(peers)) / (len(peers) + 1) // ceil(P / nodes)
	claimed := make(map[int]bool)
	for _, parts := range peers {
		for _, p := range parts {
			claimed[p] = true
		}
	}
	owned := n.owned()
	if p, ok := spare(owned, share, claimed); ok {
		n.release(p, true)
		// The notice carries the heartbeat without the partition: a peer that balanced
		// with the old claim would take the partition as orphaned, beyond its share, and
		// give one up in turn — partitions (and their calls) would bounce between nodes.
		n.mu.Lock()
		hb := n.heartbeatLocked()
		n.mu.Unlock()
		n.Notify(topicRebalance, hb)
		return
	}
	mine := make(map[int]bool, len(owned))
	for _, p := range owned {
		mine[p] = true
	}
	var orphans, free []int
	for _, p := range n.order() {
		switch {
		case mine[p]:
		case claimed[p]:
			orphans = append(orphans, p)
		default:
			free = append(free, p)
		}
	}
	got, err := n.leases.tryLock(ctx, orphans)
	if err != nil {
		n.log.Warn("cluster: partition leases", "err", err)
		return
	}
	for _, p := range got {
		n.log.Info("cluster: taking over a partition whose owner is gone", "partition", p)
		n.acquire(p)
	}
	for _, p := range free {
		if len(n.owned()) >= share {
			break
		}
		got, err := n.leases.tryLock(ctx, []int{p})
		if err != nil {
			return
		}
		if len(got) == 1 {
			n.acquire(p)
		}
	}
}

// spare picks the partition to give up when this node owns more than its share: the last
// one that no peer claims. One that a peer still claims was taken over from a node that
// died and whose heartbeats have not timed out yet: given up now, it would look orphaned to
// the others, who would take it beyond their share and give one up in turn, bouncing the
// partitions and their calls between nodes. It waits until the dead node's claims are gone.
func spare(owned []int, share int, claimed map[int]bool) (int, bool) {
	if len(owned) <= share {
		return 0, false
	}
	for i := len(owned) - 1; i >= 0; i-- {
		if !claimed[owned[i]] {
			return owned[i], true
		}
	}
	return 0, false
}

// order is the order in which this node tries partitions: from a place of its own, so that
// nodes starting together try different ones first.
func (n *Node) order() []int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(n.cfg.NodeID))
	start := int(h.Sum32() % uint32(n.cfg.Partitions))
	out := make([]int, n.cfg.Partitions)
	for i := range out {
		out[i] = (start + i) % n.cfg.Partitions
	}
	return out
}

// acquire makes the Host the owner of p, then subscribes to p's requests.
func (n *Node) acquire(p int) {
	n.host.Acquire(p)
	sub, err := n.nc.Subscribe(subjPartition(p), n.onPartition(p))
	if err == nil {
		_ = sub.SetPendingLimits(-1, 256<<20)
	}
	n.mu.Lock()
	n.parts[p] = sub
	n.mu.Unlock()
	n.beat()
}

// release stops serving p, lets the Host give it up, and frees its lock.
func (n *Node) release(p int, unlock bool) {
	n.mu.Lock()
	sub, ok := n.parts[p]
	delete(n.parts, p)
	n.mu.Unlock()
	if !ok {
		return
	}
	if sub != nil {
		_ = sub.Unsubscribe()
	}
	n.host.Release(p)
	n.beat() // the peers drop the claim before the lock is free (see balance)
	if unlock {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = n.leases.unlock(ctx, p)
	}
	n.log.Info("cluster: gave up a partition", "partition", p)
}

func (n *Node) releaseAll(unlock bool) {
	for _, p := range n.owned() {
		n.release(p, unlock)
	}
	if unlock && n.isClosed() {
		n.leases.close()
	}
}

// Owned lists the partitions this node owns, in order.
func (n *Node) Owned() []int { return n.owned() }

// owned lists the partitions this node owns, in order.
func (n *Node) owned() []int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.ownedLocked()
}

func (n *Node) ownedLocked() []int {
	out := make([]int, 0, len(n.parts))
	for p := range n.parts {
		out = append(out, p)
	}
	sort.Ints(out)
	return out
}

func (n *Node) isClosed() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.closed
}
