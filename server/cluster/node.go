package cluster

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/duet-rtc/duet/internal/clock"
	"github.com/duet-rtc/duet/server/route"
)

// Host is what a Node needs from the server it runs in. Its methods are called from the
// node's goroutines (NATS subscriptions, the heartbeat), never under a node lock.
type Host interface {
	// DeliverFrame hands an encoded message to a device connected to this node and
	// reports whether it is connected here.
	DeliverFrame(dev route.Device, frame []byte) bool
	// DeliverChat hands a text message another node stored to a device connected here.
	DeliverChat(dev route.Device, data []byte)
	// PresenceChanged is told the devices that arrived on or left other nodes.
	PresenceChanged(changes []Change)
	// Acquire makes this node the owner of partition p: the call state of its apps is
	// loaded and requests are decided here from now on. Release gives it up: nothing more
	// is decided, and what was decided is stored, before it returns.
	Acquire(p int)
	Release(p int)
	// HandleForwarded handles a request forwarded to partition p, which this node owns. It
	// returns the reply frame (nil for none), or ok false when the node no longer owns p
	// (the sender then tries the new owner).
	HandleForwarded(p int, req *Request) (reply []byte, ok bool)
	// Notified is told a notice another node (or this one) published with Notify.
	Notified(topic string, data []byte)
	// Heartbeat is called on every heartbeat, after the partitions were balanced.
	Heartbeat()
	// Reconnected is called when the node's NATS connection is back after it was lost:
	// notices published meanwhile never reached this node, so the host checks again what
	// they would have told it. It runs on NATS's callback goroutine: it must not block.
	Reconnected()
	// Answer answers a question another node asked with Ask, or reports false to stay
	// silent (another node may know).
	Answer(topic string, question []byte) (answer []byte, ok bool)
}

// Node is this server's membership of the cluster. Create it with Start; stop it with
// Close.
type Node struct {
	cfg     Config
	host    Host
	log     *slog.Logger
	clk     clock.Clock
	nc      *nats.Conn
	boot    string
	replica *Replica
	leases  *Leases
	workers []chan work
	quit    chan struct{} // closed when the workers stop
	wg      sync.WaitGroup
	started time.Time

	mu     sync.Mutex // orders presence events with snapshots; guards what follows
	seq    uint64
	local  map[route.Device]route.Online
	subs   []*nats.Subscription
	parts  map[int]*nats.Subscription // owned partitions and their subscriptions
	timer  clock.Timer
	closed bool

	balancing sync.Mutex // one balance at a time (heartbeat, Close)
}

// Start connects the node to NATS, subscribes to presence and to its own subjects, and
// begins heartbeats. Partitions are taken after a short wait for the other nodes' heartbeats
// (the first balance), through leases.
func Start(cfg Config, host Host, leases *Leases) (*Node, error) {
	n, err := New(cfg, host, leases)
	if err != nil {
		return nil, err
	}
	if err := n.Start(); err != nil {
		return nil, err
	}
	return n, nil
}

// New connects a node to NATS without starting it: nothing reaches the Host before Start,
// so the Host may keep the node first.
func New(cfg Config, host Host, leases *Leases) (*Node, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	n := &Node{cfg: cfg, host: host, log: cfg.Logger.With("node", cfg.NodeID), clk: cfg.Clock,
		boot: rand.Text(), replica: NewReplica(cfg.NodeID), leases: leases,
		local: make(map[route.Device]route.Online), parts: make(map[int]*nats.Subscription), quit: make(chan struct{})}
	n.nc, err = nats.Connect(strings.Join(cfg.NATS, ","),
		nats.Name("duet "+cfg.NodeID), nats.MaxReconnects(-1), nats.ReconnectWait(250*time.Millisecond),
		nats.RetryOnFailedConnect(false), nats.PingInterval(2*time.Second), nats.MaxPingsOutstanding(2),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			n.log.Warn("cluster: NATS connection lost; this node stops deciding calls until it is back", "err", err)
		}),
		nats.ReconnectHandler(func(c *nats.Conn) {
			n.log.Info("cluster: NATS connection back", "server", c.ConnectedUrlRedacted())
			host.Reconnected()
		}))
	if err != nil {
		return nil, fmt.Errorf("cluster: connect to NATS %s: %w", strings.Join(cfg.NATS, ","), err)
	}
	return n, nil
}

// Start subscribes the node to presence and to its own subjects and begins heartbeats.
// Partitions are taken after a short wait for the other nodes' heartbeats. On an error the
// node is closed.
func (n *Node) Start() error {
	n.startWorkers(16)
	if err := n.subscribe(); err != nil {
		n.nc.Close()
		n.stopWorkers()
		return err
	}
	n.started = n.clk.Now()
	n.mu.Lock()
	n.timer = n.clk.AfterFunc(n.cfg.Heartbeat, n.tick)
	n.mu.Unlock()
	n.beat()
	return nil
}

// Fence returns what a commit of partition p's steps checks (store.CallBatch.Fence): the
// partition's lock and the session that holds it.
func (n *Node) Fence(p int) (class, key int32, pid uint32) { return n.leases.Fence(p) }

// ID is the node's id.
func (n *Node) ID() string { return n.cfg.NodeID }

// Replica is the node's view of the other nodes' devices.
func (n *Node) Replica() *Replica { return n.replica }

// Partitions is how many partitions the apps are spread over.
func (n *Node) Partitions() int { return n.cfg.Partitions }

func (n *Node) subscribe() error {
	subs := []struct {
		subj string
		cb   nats.MsgHandler
	}{
		{subjPresAll, n.onPresence},
		{subjSnapshot(n.cfg.NodeID), n.onSnapshotRequest},
		{subjDevice(n.cfg.NodeID), n.onDevice},
		{subjChat(n.cfg.NodeID), n.onChat},
		{subjNotifyAll, n.onNotify},
		{subjAskAll, n.onAsk},
	}
	for _, s := range subs {
		sub, err := n.nc.Subscribe(s.subj, s.cb)
		if err != nil {
			return fmt.Errorf("cluster: subscribe %s: %w", s.subj, err)
		}
		_ = sub.SetPendingLimits(-1, 256<<20)
		n.subs = append(n.subs, sub)
	}
	return n.nc.Flush()
}

// Close gives up every partition (each Release runs), stops heartbeats and leaves NATS.
// The other nodes drop this node's devices when its heartbeats stop.
func (n *Node) Close() {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return
	}
	n.closed = true
	if n.timer != nil {
		n.timer.Stop()
	}
	n.mu.Unlock()
	n.balancing.Lock()
	n.releaseAll(true)
	n.balancing.Unlock()
	for _, s := range n.subs {
		_ = s.Unsubscribe()
	}
	_ = n.nc.Drain()
	n.stopWorkers()
	n.nc.Close()
}

// Online announces a device connected to this node (again, when its connection was
// replaced) and returns the seq of the event that says so.
func (n *Node) Online(o route.Online) uint64 {
	return n.publishPresence(o, true)
}

// Offline announces that a device left this node.
func (n *Node) Offline(d route.Device) uint64 {
	return n.publishPresence(route.Online{Device: d}, false)
}

func (n *Node) publishPresence(o route.Online, online bool) uint64 {
	n.mu.Lock()
	defer n.mu.Unlock()
	if online {
		n.local[o.Device] = o
	} else {
		delete(n.local, o.Device)
	}
	n.seq++
	b, _ := json.Marshal(presenceEvent{Node: n.cfg.NodeID, Boot: n.boot, Seq: n.seq, Online: online,
		App: o.App, User: o.User, Device: o.ID, Caps: o.Capabilities})
	// A failed publish (NATS away) is repaired by the snapshot the next heartbeat asks for.
	_ = n.nc.Publish(subjPresence, b)
	return n.seq
}

// position is where this node's presence stream is: requests forwarded from here carry it.
func (n *Node) position() (string, uint64) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.boot, n.seq
}

// onPresence applies another node's event or heartbeat, fetching a snapshot of that node
// when it cannot be applied in order. It runs on one goroutine, in the order each node
// published.
func (n *Node) onPresence(m *nats.Msg) {
	now := n.clk.Now()
	var node string
	var needSync bool
	var changes []Change
	switch m.Subject {
	case subjPresence:
		var ev presenceEvent
		if json.Unmarshal(m.Data, &ev) != nil {
			return
		}
		node = ev.Node
		changes, needSync = n.replica.applyEvent(ev, now)
	case subjBeat:
		var hb heartbeat
		if json.Unmarshal(m.Data, &hb) != nil {
			return
		}
		if hb.Node == n.cfg.NodeID && hb.Boot != n.boot {
			n.log.Error("cluster: another node runs with this node id; give every node its own --node-id")
			return
		}
		node = hb.Node
		needSync = n.replica.applyHeartbeat(hb, now)
	}
	if needSync && nodeIDPattern.MatchString(node) {
		changes = append(changes, n.sync(node)...)
	}
	if len(changes) > 0 {
		n.host.PresenceChanged(changes)
	}
}

// sync fetches node's snapshot and applies it. Events that arrive meanwhile wait in the
// subscription and are applied after it (those it already covers are skipped).
func (n *Node) sync(node string) []Change {
	m, err := n.nc.Request(subjSnapshot(node), nil, 2*time.Second)
	if err != nil {
		n.log.Debug("cluster: presence snapshot failed", "of", node, "err", err)
		return nil
	}
	var s snapshot
	if err := json.Unmarshal(m.Data, &s); err != nil {
		return nil
	}
	return n.replica.applySnapshot(node, s, n.clk.Now())
}

func (n *Node) onSnapshotRequest(m *nats.Msg) {
	n.mu.Lock()
	s := snapshot{Boot: n.boot, Seq: n.seq, Devices: make([]route.Online, 0, len(n.local))}
	for _, o := range n.local {
		s.Devices = append(s.Devices, o)
	}
	n.mu.Unlock()
	b, _ := json.Marshal(s)
	_ = m.Respond(b)
}

// tick is the heartbeat: say this node is alive, forget silent nodes, balance partitions.
func (n *Node) tick() {
	n.beat()
	gone, changes := n.replica.expire(n.clk.Now().Add(-n.cfg.NodeTimeout))
	for _, node := range gone {
		n.log.Warn("cluster: node gone silent; its devices are taken as offline", "gone", node)
	}
	if len(changes) > 0 {
		n.host.PresenceChanged(changes)
	}
	n.balance()
	n.host.Heartbeat()
	n.mu.Lock()
	defer n.mu.Unlock()
	if !n.closed {
		n.timer = n.clk.AfterFunc(n.cfg.Heartbeat, n.tick)
	}
}

func (n *Node) beat() {
	n.mu.Lock()
	_ = n.nc.Publish(subjBeat, n.heartbeatLocked())
	n.mu.Unlock()
}

// heartbeatLocked is this node's heartbeat: its boot, sequence and partitions. Called with
// mu held.
func (n *Node) heartbeatLocked() []byte {
	b, _ := json.Marshal(heartbeat{Node: n.cfg.NodeID, Boot: n.boot, Seq: n.seq, Parts: n.ownedLocked()}) // plain struct: cannot fail
	return b
}

// Connected reports whether the node's NATS connection is up.
func (n *Node) Connected() bool { return n.nc.IsConnected() }

// errNoOwner is returned when a partition has had no owner for the whole ForwardTimeout.
var errNoOwner = errors.New("cluster: no node owns the partition")
