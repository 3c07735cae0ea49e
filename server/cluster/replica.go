package cluster

import (
	"sort"
	"sync"
	"time"

	"github.com/duet-rtc/duet/protocol"
	"github.com/duet-rtc/duet/server/route"
)

// presenceEvent is one device coming online on, or leaving, the node that publishes it.
// Each node numbers its events 1, 2, 3... from its start (Boot names the start), so that a
// receiver applies them in order and notices one it missed.
type presenceEvent struct {
	Node   string                `json:"node"`
	Boot   string                `json:"boot"`
	Seq    uint64                `json:"seq"`
	Online bool                  `json:"online"`
	App    string                `json:"app"`
	User   string                `json:"user"`
	Device string                `json:"device"`
	Caps   protocol.Capabilities `json:"caps"`
}

// heartbeat says a node is alive, how far its presence events go and which partitions it
// owns.
type heartbeat struct {
	Node  string `json:"node"`
	Boot  string `json:"boot"`
	Seq   uint64 `json:"seq"`
	Parts []int  `json:"parts,omitempty"`
}

// snapshot is every device a node holds, as of its event Seq.
type snapshot struct {
	Boot    string         `json:"boot"`
	Seq     uint64         `json:"seq"`
	Devices []route.Online `json:"devices"`
}

// Change is a device whose place in the cluster changed in the replica: Online at Node, or
// gone from every other node (Online false).
type Change struct {
	Device route.Device
	Online bool
	Node   string
}

// Replica is one node's view of the devices connected to the other nodes. It is fed by the
// node's presence subscription (events, heartbeats, snapshots, in the order each node sent
// them) and read by the node's directory. Safe for concurrent use.
type Replica struct {
	self string

	mu     sync.Mutex
	devs   map[userKey]map[string]remote // remote devices by user, then device id
	peers  map[string]*peer
	notify chan struct{} // closed and replaced whenever events are applied
}

type userKey struct{ app, user string }

// remote is where a device of another node is.
type remote struct {
	node string
	caps protocol.Capabilities
}

// peer is what the replica knows of another node.
type peer struct {
	boot    string
	applied uint64 // the last of its events applied
	synced  bool   // applied comes from a snapshot of this boot
	seen    time.Time
	parts   []int
	devices map[route.Device]struct{}
}

// NewReplica returns an empty replica for the node self (whose own events it ignores).
func NewReplica(self string) *Replica {
	return &Replica{self: self, devs: make(map[userKey]map[string]remote), peers: make(map[string]*peer),
		notify: make(chan struct{})}
}

// peerLocked returns the peer of node, made when first heard of.
func (r *Replica) peerLocked(node string, now time.Time) *peer {
	p := r.peers[node]
	if p == nil {
		p = &peer{devices: make(map[route.Device]struct{}), seen: now}
		r.peers[node] = p
	}
	return p
}

// applyEvent applies one presence event. It reports needSync when the event cannot be
// applied in order (a node not synced yet, a new boot, a gap): the caller then fetches a
// snapshot of that node.
func (r *Replica) applyEvent(ev presenceEvent, now time.Time) (changes []Change, needSync bool) {
	if ev.Node == r.self {
		return nil, false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	p := r.peerLocked(ev.Node, now)
	p.seen = now
	if !p.synced || p.boot != ev.Boot || ev.Seq > p.applied+1 {
		return nil, true
	}
	if ev.Seq <= p.applied {
		return nil, false // in the snapshot already
	}
	p.applied = ev.Seq
	dev := route.Device{App: ev.App, User: ev.User, ID: ev.Device}
	if ev.Online {
		changes = r.putLocked(ev.Node, p, route.Online{Device: dev, Capabilities: ev.Caps})
	} else {
		changes = r.dropLocked(ev.Node, p, dev)
	}
	r.wakeLocked()
	return changes, false
}

// applyHeartbeat notes that a node is alive. needSync as for applyEvent: a heartbeat that
// names events not applied means some were missed.
func (r *Replica) applyHeartbeat(hb heartbeat, now time.Time) (needSync bool) {
	if hb.Node == r.self {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	p := r.peerLocked(hb.Node, now)
	p.seen = now
	p.parts = hb.Parts
	return !p.synced || p.boot != hb.Boot || hb.Seq > p.applied
}

// applySnapshot replaces what the replica holds of node with its snapshot.
func (r *Replica) applySnapshot(node string, s snapshot, now time.Time) []Change {
	r.mu.Lock()
	defer r.mu.Unlock()
	p := r.peerLocked(node, now)
	p.seen = now
	keep := make(map[route.Device]bool, len(s.Devices))
	for _, o := range s.Devices {
		keep[o.Device] = true
	}
	var changes []Change
	for dev := range p.devices {
		if !keep[dev] {
			changes = append(changes, r.dropLocked(node, p, dev)...)
		}
	}
	for _, o := range s.Devices {
		changes = append(changes, r.putLocked(node, p, o)...)
	}
	p.boot, p.applied, p.synced = s.Boot, s.Seq, true
	r.wakeLocked()
	return changes
}

// expire forgets the nodes not heard from since before cutoff, with their devices.
func (r *Replica) expire(cutoff time.Time) (gone []string, changes []Change) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for node, p := range r.peers {
		if !p.seen.Before(cutoff) {
			continue
		}
		for dev := range p.devices {
			changes = append(changes, r.dropLocked(node, p, dev)...)
		}
		delete(r.peers, node)
		gone = append(gone, node)
	}
	sort.Strings(gone)
	r.wakeLocked()
	return gone, changes
}

// putLocked records o as connected to node, taking it from another node that held it.
func (r *Replica) putLocked(node string, p *peer, o route.Online) []Change {
	k := userKey{o.App, o.User}
	byID := r.devs[k]
	if byID == nil {
		byID = make(map[string]remote)
		r.devs[k] = byID
	}
	if old, ok := byID[o.ID]; ok && old.node != node {
		if op := r.peers[old.node]; op != nil {
			delete(op.devices, o.Device)
		}
	}
	_, known := byID[o.ID]
	moved := !known || byID[o.ID].node != node
	byID[o.ID] = remote{node: node, caps: o.Capabilities}
	p.devices[o.Device] = struct{}{}
	if !moved {
		return nil
	}
	return []Change{{Device: o.Device, Online: true, Node: node}}
}

// dropLocked forgets dev at node; an entry that another node took since is left alone.
func (r *Replica) dropLocked(node string, p *peer, dev route.Device) []Change {
	delete(p.devices, dev)
	k := userKey{dev.App, dev.User}
	byID := r.devs[k]
	if cur, ok := byID[dev.ID]; !ok || cur.node != node {
		return nil
	}
	delete(byID, dev.ID)
	if len(byID) == 0 {
		delete(r.devs, k)
	}
	return []Change{{Device: dev, Online: false, Node: node}}
}

func (r *Replica) wakeLocked() {
	close(r.notify)
	r.notify = make(chan struct{})
}

// Lookup returns the node holding dev, if another node does.
func (r *Replica) Lookup(dev route.Device) (string, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	d, ok := r.devs[userKey{dev.App, dev.User}][dev.ID]
	return d.node, ok
}

// OnlineDevices lists the user's devices connected to other nodes.
func (r *Replica) OnlineDevices(app, user string) []route.Online {
	r.mu.Lock()
	defer r.mu.Unlock()
	byID := r.devs[userKey{app, user}]
	if len(byID) == 0 {
		return nil
	}
	out := make([]route.Online, 0, len(byID))
	for id, d := range byID {
		out = append(out, route.Online{Device: route.Device{App: app, User: user, ID: id}, Capabilities: d.caps})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Count returns how many devices other nodes hold.
func (r *Replica) Count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, p := range r.peers {
		n += len(p.devices)
	}
	return n
}

// Peers returns the other nodes heard from, each with the partitions it last said it owns.
func (r *Replica) Peers() map[string][]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string][]int, len(r.peers))
	for node, p := range r.peers {
		out[node] = p.parts
	}
	return out
}

// WaitApplied waits until node's events up to seq are applied, or timeout passes, and
// reports whether they were. A device's requests carry the seq of its node's event that
// announced it, so that the owner of its calls sees it online before it handles them.
func (r *Replica) WaitApplied(node, boot string, seq uint64, timeout time.Duration) bool {
	var deadline <-chan time.Time
	for {
		r.mu.Lock()
		p := r.peers[node]
		// A sender that restarted (a boot not synced yet) is waited for too: the snapshot of
		// its new boot comes with its first event or heartbeat.
		done := p != nil && p.synced && p.boot == boot && p.applied >= seq
		ch := r.notify
		r.mu.Unlock()
		if done {
			return true
		}
		if deadline == nil {
			t := time.NewTimer(timeout)
			defer t.Stop()
			deadline = t.C
		}
		select {
		case <-ch:
		case <-deadline:
			return false
		}
	}
}

// OnlineUsers lists up to limit users of app with a device on another node, in no order.
func (r *Replica) OnlineUsers(app string, limit int) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for k, byID := range r.devs {
		if len(out) == limit {
			break
		}
		if k.app == app && len(byID) > 0 {
			out = append(out, k.user)
		}
	}
	return out
}
