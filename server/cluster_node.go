package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/duet-rtc/duet/protocol"
	"github.com/duet-rtc/duet/server/callflow"
	"github.com/duet-rtc/duet/server/cluster"
	"github.com/duet-rtc/duet/server/route"
	"github.com/duet-rtc/duet/server/signal"
	"github.com/duet-rtc/duet/server/store"
)

// clusterCalls is a server's part in a cluster. Toward the hub it is the handler of the
// devices connected here: their presence is announced to the other nodes, and their call
// requests go to the owner of their app's partition, here or on another node. As a
// cluster.Host it owns partitions: each owned partition has an engine and a step committer
// of its own, loaded from the store when the partition is taken. Toward the engines and the
// chat it is the directory and the sender of the whole cluster.
type clusterCalls struct {
	s     *Server
	node  *cluster.Node
	beats int // heartbeats, counted by the node's heartbeat goroutine
	audit *sessionAudit

	mu    sync.Mutex
	parts map[int]*partitionCalls
}

// partitionCalls decides the calls of one partition's apps, on the node that owns it.
type partitionCalls struct {
	engine  *callflow.Engine
	steps   *stepCommitter
	handler signal.Handler // call.* and call.media of the partition's devices
}

var (
	_ cluster.Host       = (*clusterCalls)(nil)
	_ signal.Handler     = (*clusterCalls)(nil)
	_ callflow.Directory = (*clusterCalls)(nil)
	_ route.Sender       = (*clusterCalls)(nil)
)

// startCluster joins the cluster. The hub exists; partitions come with the first
// heartbeats.
func (s *Server) startCluster() error {
	cc := s.cfg.Cluster
	if cc.DatabaseURL == "" {
		return fmt.Errorf("cluster: a node needs the PostgreSQL store (--store postgres://...)")
	}
	node, err := cluster.New(cluster.Config{
		NodeID: cc.NodeID, NATS: cc.NATS, Partitions: cc.Partitions, Heartbeat: cc.Heartbeat,
		NodeTimeout: cc.NodeTimeout, Clock: s.cfg.Clock, Logger: s.cfg.Logger,
	}, s.cluster, cluster.NewLeases(cc.DatabaseURL))
	if err != nil {
		return err
	}
	// Kept before Start: the node calls back into clusterCalls from then on.
	s.cluster.node = node
	s.clusterMetrics(node)
	return node.Start()
}

// clusterMetrics shows the node's part of the cluster in /metrics.
func (s *Server) clusterMetrics(n *cluster.Node) {
	gauge := func(name, help string, f func() float64) {
		s.registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f))
	}
	gauge("duet_cluster_partitions_owned", "Partitions whose calls this node decides.", func() float64 { return float64(len(n.Owned())) })
	gauge("duet_cluster_peers", "Other nodes this node hears from.", func() float64 { return float64(len(n.Replica().Peers())) })
	gauge("duet_cluster_remote_devices", "Devices connected to the other nodes.", func() float64 { return float64(n.Replica().Count()) })
	gauge("duet_cluster_nats_connected", "1 while the node's NATS connection is up.", func() float64 {
		if n.Connected() {
			return 1
		}
		return 0
	})
}

func (c *clusterCalls) partitionOf(app string) int {
	return cluster.Partition(app, c.partitions())
}

func (c *clusterCalls) partitions() int {
	if n := c.s.cfg.Cluster.Partitions; n > 0 {
		return n
	}
	return cluster.DefaultPartitions
}

// local returns the calls of partition p if this node owns it.
func (c *clusterCalls) local(p int) *partitionCalls {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.parts[p]
}

func (c *clusterCalls) replica() *cluster.Replica { return c.node.Replica() }

// devicesElsewhere counts the user's devices on the other nodes, device id excepted (it is
// moving here), for the hub's --max-devices. Before the node exists it knows of none.
func (c *clusterCalls) devicesElsewhere(app, user, id string) int {
	if c.node == nil {
		return 0
	}
	n := 0
	for _, o := range c.replica().OnlineDevices(app, user) {
		if o.ID != id {
			n++
		}
	}
	return n
}

// --- the devices connected here (signal.Handler) ---

// DeviceOnline announces the device to the cluster, then tells the owner of its calls.
func (c *clusterCalls) DeviceOnline(dev route.Online, resume []string) {
	c.node.Online(dev)
	if pc := c.local(c.partitionOf(dev.App)); pc != nil {
		pc.handler.DeviceOnline(dev, resume)
		return
	}
	_, _ = c.forward(&cluster.Request{Op: cluster.OpOnline, Device: dev, Resume: resume}) // logged; the owner resumes connected parties when it takes over
}

// DeviceOffline announces that the device left this node, then tells the owner of its
// calls unless the device is connected to another node already.
func (c *clusterCalls) DeviceOffline(dev route.Device) {
	c.node.Offline(dev)
	if pc := c.local(c.partitionOf(dev.App)); pc != nil {
		c.offline(pc, dev)
		return
	}
	_, _ = c.forward(&cluster.Request{Op: cluster.OpOffline, Device: route.Online{Device: dev}}) // logged; a silent node's devices go offline anyway
}

// HandleMessage has the owner of the device's calls handle a call.* or call.media message.
func (c *clusterCalls) HandleMessage(dev route.Device, env *protocol.Envelope) *protocol.Envelope {
	if pc := c.local(c.partitionOf(dev.App)); pc != nil {
		if reply, ok := pc.handle(dev, env); ok {
			return reply
		}
		// The partition was given up meanwhile: its new owner decides.
	}
	frame, err := env.Encode()
	if err != nil {
		return protocol.NewErrorReply(env.ID, protocol.NewError(protocol.CodeBadMessage, "cannot forward the message"))
	}
	reply, err := c.forward(&cluster.Request{Op: cluster.OpMessage, Device: route.Online{Device: dev}, Frame: frame})
	if err != nil {
		if env.ID == "" {
			return nil
		}
		return protocol.NewErrorReply(env.ID, protocol.NewError(protocol.CodeServerBusy,
			"no node decides this app's calls right now; try again shortly"))
	}
	if len(reply) == 0 {
		return nil
	}
	var out protocol.Envelope
	if err := json.Unmarshal(reply, &out); err != nil {
		c.s.cfg.Logger.Error("cluster: a forwarded reply does not decode", "err", err)
		return nil
	}
	return &out
}

// forward sends a request to the owner of its device's partition.
func (c *clusterCalls) forward(req *cluster.Request) ([]byte, error) {
	reply, err := c.node.Forward(c.partitionOf(req.Device.App), req)
	if err != nil {
		c.s.cfg.Logger.Warn("cluster: a device's request reached no owner", "op", req.Op, "app", req.Device.App, "err", err)
	}
	return reply, err
}

// offline tells pc's engine that dev went offline, unless it is connected here or on
// another node: a device that moved between nodes keeps its calls.
func (c *clusterCalls) offline(pc *partitionCalls, dev route.Device) {
	if c.Connected(dev) {
		return
	}
	pc.handler.DeviceOffline(dev)
}

// --- the owner's side (cluster.Host) ---

// HandleForwarded handles a request that another node forwarded to a partition owned here.
func (c *clusterCalls) HandleForwarded(p int, req *cluster.Request) ([]byte, bool) {
	pc := c.local(p)
	if pc == nil {
		return nil, false
	}
	switch req.Op {
	case cluster.OpOnline:
		pc.handler.DeviceOnline(req.Device, req.Resume)
	case cluster.OpOffline:
		c.offline(pc, req.Device.Device)
	case cluster.OpOperatorEnd:
		return pc.operatorEnd(req.Device.App, req.Frame), true
	case cluster.OpMessage:
		var env protocol.Envelope
		if err := json.Unmarshal(req.Frame, &env); err != nil {
			return nil, true
		}
		reply, ok := pc.handle(req.Device.Device, &env)
		if !ok {
			return nil, false
		}
		if reply == nil {
			return nil, true
		}
		b, err := reply.Encode()
		if err != nil {
			return nil, true
		}
		return b, true
	}
	return nil, true
}

// handle has the partition's engine handle a message. ok is false when the engine was closed
// (the partition given up) and refused it: nothing was decided, and the request can go to
// the new owner.
func (pc *partitionCalls) handle(dev route.Device, env *protocol.Envelope) (*protocol.Envelope, bool) {
	if pc.engine.Closed() {
		return nil, false
	}
	reply := pc.handler.HandleMessage(dev, env)
	if reply != nil && reply.Error != nil && reply.Error.Code == protocol.CodeServerShutdown && pc.engine.Closed() {
		return nil, false
	}
	return reply, true
}

// Acquire takes partition p: its live calls are read from the store and restored into an
// engine of its own, and the parties connected anywhere in the cluster are resumed at once
// (they did not lose their connections, only their calls' owner). The owner of partition 0
// also delivers the cluster's webhooks.
func (c *clusterCalls) Acquire(p int) {
	s := c.s
	pc := &partitionCalls{}
	class, key, pid := c.node.Fence(p)
	pc.steps = s.newStepCommitterFor(c, c.committed, &store.Fence{Class: class, Key: key, PID: pid})
	pc.engine = callflow.New(s.engineConfig(), pc.steps, c, userDirectory{s.store})
	engine := func() *callflow.Engine { return pc.engine }
	pc.handler = s.withMedia(s.withQuality(callRequests{engine, pc.steps.Healthy}, engine))
	states := c.liveCallsOf(p)
	for _, st := range states {
		s.quality.Resumed(st.App, st.ID) // its samples may be another node's
	}
	pc.engine.Restore(states)
	c.mu.Lock()
	c.parts[p] = pc
	c.mu.Unlock()
	for _, st := range states {
		c.resume(pc, st)
	}
	if p == 0 {
		s.msg.startHooks()
	}
	s.cfg.Logger.Info("cluster: partition taken", "partition", p, "calls", len(states))
}

// liveCallsOf reads the live calls of partition p's apps. A store that fails leaves them
// for the engine's later start: the partition is taken empty and logged.
func (c *clusterCalls) liveCallsOf(p int) []callflow.State {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rows, err := c.s.store.LiveCalls(ctx)
	if err != nil {
		c.s.cfg.Logger.Error("cluster: cannot read the live calls of a partition taken", "partition", p, "err", err)
		return nil
	}
	var out []callflow.State
	for _, row := range rows {
		if c.partitionOf(row.App) != p {
			continue
		}
		st, err := stateOf(row)
		if err != nil {
			c.s.cfg.Logger.Error("a live call cannot be read back; it ends Failed", "call", row.ID, "app", row.App, "err", err)
		}
		out = append(out, st)
	}
	return out
}

// resume tells a restored call's engine about its parties' devices that are connected,
// and the devices of a recorded call that its relay is here now.
func (c *clusterCalls) resume(pc *partitionCalls, st callflow.State) {
	if st.Damaged {
		return
	}
	for _, o := range c.OnlineDevices(st.App, st.Caller) {
		if o.ID == st.CallerDevice {
			pc.engine.DeviceOnline(o, []string{st.ID})
		}
	}
	for _, o := range c.OnlineDevices(st.App, st.Callee) {
		pc.engine.DeviceOnline(o, []string{st.ID})
	}
	if st.Record {
		c.relayMoved(st)
	}
}

// relayMoved tells the devices of a recorded call taken over here that its relay moved: the
// relay ran on the node that owned the call, which died or gave the call up, so the
// devices' relay connections are gone and they offer them again, to this node (call.relay,
// docs/PROTOCOL.md "Recorded calls"). A device that is not connected anywhere learns it
// when it reconnects (its node's welcome.boot differs).
func (c *clusterCalls) relayMoved(st callflow.State) {
	callee := func(id string) route.Device { return route.Device{App: st.App, User: st.Callee, ID: id} }
	to := []route.Device{{App: st.App, User: st.Caller, ID: st.CallerDevice}}
	if st.Accepted {
		to = append(to, callee(st.Answered))
	}
	for _, l := range st.Legs {
		if !st.Accepted && l.Ringing {
			to = append(to, callee(l.Device))
		}
	}
	msg := protocol.NewMessage(protocol.TypeCallRelay, "", protocol.CallRelay{CallID: st.ID})
	for _, dev := range to {
		c.Send(dev, msg)
	}
}

// Release gives partition p up: its engine stops deciding and its committer stores and
// delivers what was decided; the calls stay in the store for the next owner.
func (c *clusterCalls) Release(p int) {
	c.mu.Lock()
	pc := c.parts[p]
	delete(c.parts, p)
	c.mu.Unlock()
	if pc == nil {
		return
	}
	if p == 0 {
		c.s.msg.stopHooks()
	}
	pc.engine.Close()
	pc.steps.Close()
}

// DeliverFrame hands a message from another node to a device connected here.
func (c *clusterCalls) DeliverFrame(dev route.Device, frame []byte) bool {
	return c.s.hub.SendFrame(dev, frame)
}

// DeliverChat hands a text message stored by another node to a device connected here.
func (c *clusterCalls) DeliverChat(dev route.Device, data []byte) {
	var m store.Message
	if json.Unmarshal(data, &m) == nil {
		c.s.msg.chat.Deliver(dev, m)
	}
}

// PresenceChanged reacts to devices that arrived on or left other nodes: a device that
// connected elsewhere loses its stale connection here; a device gone from the cluster (its
// node left or went silent) goes offline in the calls of partitions owned here. Presence
// subscribers here hear of the user's change.
func (c *clusterCalls) PresenceChanged(changes []cluster.Change) {
	for _, ch := range changes {
		c.s.msg.presence.Changed(ch.Device.App, ch.Device.User)
		if ch.Online {
			if c.s.hub.Connected(ch.Device) {
				c.s.hub.KickDevice(ch.Device)
			}
			continue
		}
		if pc := c.local(c.partitionOf(ch.Device.App)); pc != nil {
			c.offline(pc, ch.Device)
		}
	}
}

// topicWebhooks is the notice that webhook deliveries were stored: the node that delivers
// them (the owner of partition 0) looks for due ones.
const topicWebhooks = "webhooks"

// topicKick closes a user's connections on every node (kickNotice).
const topicKick = "kick"

// topicContacts tells every node that a user's contact list changed (contactsNotice): the
// presence subscriptions watching it reload it.
const topicContacts = "contacts"

type contactsNotice struct {
	App   string `json:"app"`
	Owner string `json:"owner"`
}

// contactsChanged tells every node, this one included (NATS echoes), of a changed list.
func (c *clusterCalls) contactsChanged(app, owner string) {
	b, _ := json.Marshal(contactsNotice{App: app, Owner: owner})
	c.node.Notify(topicContacts, b)
}

// kickNotice names a user whose connections every node closes, and why: those of one
// session (a revoked token's hash), or all of them. The user's tokens, or the session's,
// were revoked, so each node also drops them from its token cache.
type kickNotice struct {
	App     string             `json:"app"`
	User    string             `json:"user"`
	Session string             `json:"session,omitempty"`
	Device  string             `json:"device,omitempty"` // one device only (an operator's kick): its tokens stay valid
	Reason  protocol.EndReason `json:"reason"`
}

// Notified acts on the notices of the cluster: new webhook deliveries kick this node's
// outbox (if it delivers them), a kick closes the user's connections here, a changed
// contact list reloads the presence subscriptions that watch it.
func (c *clusterCalls) Notified(topic string, data []byte) {
	switch topic {
	case topicWebhooks:
		c.s.msg.kickHooks()
	case topicContacts:
		var n contactsNotice
		if json.Unmarshal(data, &n) == nil {
			c.s.msg.presence.ContactsChanged(n.App, n.Owner)
		}
	case topicKick:
		var k kickNotice
		switch {
		case json.Unmarshal(data, &k) != nil:
		case k.Device != "":
			c.s.hub.Disconnect(route.Device{App: k.App, User: k.User, ID: k.Device}, k.Reason)
		default:
			c.s.accounts.Forget(k.App, k.User, k.Session)
			c.s.hub.KickSession(k.App, k.User, k.Session, k.Reason)
		}
	}
}

// kick closes the connections of the user (of session only, when not "") on every node.
func (c *clusterCalls) kick(app, user, session string, reason protocol.EndReason) {
	b, _ := json.Marshal(kickNotice{App: app, User: user, Session: session, Reason: reason})
	c.node.Notify(topicKick, b)
}

// kickDevice closes the device's connection on whichever node has it.
func (c *clusterCalls) kickDevice(dev route.Device, reason protocol.EndReason) {
	b, _ := json.Marshal(kickNotice{App: dev.App, User: dev.User, Device: dev.ID, Reason: reason})
	c.node.Notify(topicKick, b)
}

// Heartbeat looks for due webhook deliveries every 10 heartbeats, in case a notice was lost
// while NATS was away.
func (c *clusterCalls) Heartbeat() {
	c.beats++
	if c.beats%10 == 0 {
		c.s.msg.kickHooks()
	}
}

// Reconnected: the kick notices sent while NATS was away were lost, so the tokens this
// node trusts (its cache) and the sessions of its devices are checked against the store.
func (c *clusterCalls) Reconnected() {
	c.audit.request()
}

// committed is told every durable batch of a partition's steps: the node that delivers
// webhooks hears of the new deliveries, and the push service sees the events.
func (c *clusterCalls) committed(evs []callflow.Event) {
	c.s.committed(evs)
	c.node.Notify(topicWebhooks, nil)
}

// --- the cluster's devices (callflow.Directory, route.Sender) ---

// OnlineDevices lists the user's devices connected here and on the other nodes.
func (c *clusterCalls) OnlineDevices(app, user string) []route.Online {
	here := c.s.hub.OnlineDevices(app, user)
	for _, o := range c.replica().OnlineDevices(app, user) {
		if !slices.ContainsFunc(here, func(h route.Online) bool { return h.ID == o.ID }) {
			here = append(here, o)
		}
	}
	return here
}

// Connected reports whether dev is connected to any node.
func (c *clusterCalls) Connected(dev route.Device) bool {
	if c.s.hub.Connected(dev) {
		return true
	}
	_, ok := c.replica().Lookup(dev)
	return ok
}

// Send delivers env to dev wherever it is connected.
func (c *clusterCalls) Send(to route.Device, env *protocol.Envelope) bool {
	if c.s.hub.Connected(to) {
		return c.s.hub.Send(to, env)
	}
	node, ok := c.replica().Lookup(to)
	if !ok {
		return false
	}
	b, err := env.Encode()
	if err != nil {
		return false
	}
	return c.node.SendTo(node, to, b)
}

// remoteChat hands a stored message to the node of a device connected elsewhere.
func (c *clusterCalls) remoteChat(to route.Device, m store.Message) bool {
	if c.s.hub.Connected(to) {
		return false
	}
	node, ok := c.replica().Lookup(to)
	if !ok {
		return false
	}
	b, err := json.Marshal(m)
	if err != nil {
		return false
	}
	return c.node.SendChat(node, to, b)
}

// Party and Answered serve the media gateway: a recorded call's relay runs on the node that
// owns the call, which is where its devices' call.media is forwarded.
func (c *clusterCalls) Party(dev route.Device, id string) (callflow.Party, bool) {
	if pc := c.local(c.partitionOf(dev.App)); pc != nil {
		return pc.engine.Party(dev, id)
	}
	return callflow.Party{}, false
}

func (c *clusterCalls) Answered(app, id string) string {
	if pc := c.local(c.partitionOf(app)); pc != nil {
		return pc.engine.Answered(app, id)
	}
	return ""
}

// active counts the live calls decided here.
func (c *clusterCalls) active() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, pc := range c.parts {
		n += pc.engine.Active()
	}
	return n
}

// flush waits until every step decided here is stored and delivered.
func (c *clusterCalls) flush() {
	c.mu.Lock()
	parts := make([]*partitionCalls, 0, len(c.parts))
	for _, pc := range c.parts {
		parts = append(parts, pc)
	}
	c.mu.Unlock()
	for _, pc := range parts {
		pc.steps.Flush()
	}
}

// clusterHealth answers /healthz on a node: its id and partitions besides the counts, and
// 503 while it is cut off from NATS (it decides nothing then; a load balancer should send
// devices elsewhere).
func (s *Server) clusterHealth(w http.ResponseWriter) {
	n := s.cluster.node
	status, code := "ok", http.StatusOK
	if !n.Connected() {
		status, code = "cluster unreachable", http.StatusServiceUnavailable
	}
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(struct {
		Status      string `json:"status"`
		Connections int    `json:"connections"`
		Calls       int    `json:"calls"`
		Node        string `json:"node"`
		Partitions  []int  `json:"partitions"`
		Peers       int    `json:"peers"`
	}{status, s.hub.Count(), s.activeCalls(), n.ID(), n.Owned(), len(n.Replica().Peers())})
}
