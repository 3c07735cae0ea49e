package server

import (
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/duet-rtc/duet/protocol"
	"github.com/duet-rtc/duet/server/api"
	"github.com/duet-rtc/duet/server/callflow"
	"github.com/duet-rtc/duet/server/chat"
	"github.com/duet-rtc/duet/server/presence"
	"github.com/duet-rtc/duet/server/push"
	"github.com/duet-rtc/duet/server/route"
	"github.com/duet-rtc/duet/server/signal"
	"github.com/duet-rtc/duet/server/store"
	"github.com/duet-rtc/duet/server/webhook"
)

// messaging is what reaches users and apps beyond the call itself: text messages (chat),
// push notifications to offline users (push) and the call webhooks (webhook).
type messaging struct {
	chat     *chat.Service
	presence *presence.Service
	push     *push.Service
	hooksTr  *webhook.Transport // the outbox's connections, closed at shutdown
	hookCfg  webhook.Config
	log      *slog.Logger
	// record completes ended calls' records in their call.ended (the parties' quality).
	record webhook.RecordHook

	hooksMu sync.Mutex
	hooks   *webhook.Outbox // nil while another node of a cluster delivers webhooks

	counter  enqueueCounter // the store's count of deliveries, when it keeps one
	enqueued atomic.Uint64  // its value when the outbox was last woken for a batch
}

// enqueueCounter is a store that counts the webhook deliveries committed through it
// (SQLite's does).
type enqueueCounter interface{ WebhooksEnqueued() uint64 }

// newMessaging builds the three services. The hub does not exist yet, so chat reaches it
// through hubRef, which resolves it when a message is sent: by then it does.
func (s *Server) newMessaging() *messaging {
	cfg := s.cfg
	p := push.New(push.Config{Store: s.store, Clock: cfg.Clock, Logger: cfg.Logger, TLS: cfg.OutboundTLS,
		CallTTL: cfg.RingTimeout, WebPushAllow: cfg.WebPushAllow})
	tr := webhook.NewTransport(cfg.OutboundTLS)
	ref := hubRef{s}
	m := &messaging{
		push: p, hooksTr: tr, log: cfg.Logger, record: s.recordQuality,
		hookCfg: webhook.Config{Store: s.store, Clock: cfg.Clock, Logger: cfg.Logger,
			HTTPClient: webhook.NewHTTPClient(tr, webhook.DefaultTimeout),
			MinBackoff: cfg.WebhookMinBackoff, MaxBackoff: cfg.WebhookMaxBackoff, MaxAttempts: cfg.WebhookMaxAttempts,
			Outcome: s.observer.webhookOutcome},
		chat: chat.New(chat.Config{Store: s.store, Sender: ref, Directory: ref, Clock: cfg.Clock, Logger: cfg.Logger,
			Retention: cfg.MessageRetention, Pusher: p.PushMessage, Remote: ref.remoteChat}),
		presence: presence.New(presence.Config{Store: s.store, Directory: ref, Sender: ref, Logger: cfg.Logger}),
	}
	m.counter = enqueueCounterOf(s.store)
	if !cfg.clustered() {
		m.startHooks() // in a cluster, the owner of partition 0 delivers them
	}
	return m
}

// startHooks starts delivering the outbox's webhooks from this node.
func (m *messaging) startHooks() {
	m.hooksMu.Lock()
	defer m.hooksMu.Unlock()
	if m.hooks == nil {
		m.hooks = webhook.New(m.hookCfg)
	}
}

// stopHooks stops delivering webhooks from this node; attempts in flight are cancelled and
// retried by whichever node delivers next.
func (m *messaging) stopHooks() {
	m.hooksMu.Lock()
	o := m.hooks
	m.hooks = nil
	m.hooksMu.Unlock()
	if o != nil {
		o.Close()
	}
}

// kickHooks makes the outbox look for due deliveries now, if this node delivers them.
func (m *messaging) kickHooks() {
	m.hooksMu.Lock()
	defer m.hooksMu.Unlock()
	if m.hooks != nil {
		m.hooks.Kick()
	}
}

// enqueueCounterOf finds the counting store under st's wrappers (seal.Store).
func enqueueCounterOf(st any) enqueueCounter {
	for st != nil {
		if c, ok := st.(enqueueCounter); ok {
			return c
		}
		w, ok := st.(interface{ Unwrap() store.Backend })
		if !ok {
			return nil
		}
		st = w.Unwrap()
	}
	return nil
}

// newDeliveries reports whether webhook deliveries were enqueued since it last said so;
// always true for a store that does not count them.
func (m *messaging) newDeliveries() bool {
	if m.counter == nil {
		return true
	}
	n := m.counter.WebhooksEnqueued()
	return m.enqueued.Swap(n) != n
}

// hookEvents turns call events into outbox rows.
func (m *messaging) hookEvents(evs []callflow.Event) []store.WebhookEvent {
	return webhook.Events(evs, m.log, m.record)
}

// handler puts the chat.*, push.* and presence.* messages and the chat's view of presence in front of
// the call flow's handler.
func (m *messaging) handler(calls signal.Handler) signal.Handler {
	return messagingHandler{calls: calls, m: m}
}

// committed is told the events of every durable batch of call steps: their webhook
// deliveries are in the outbox now, and a pushed call that ended gets its cancel push.
// Neither blocks.
func (m *messaging) committed(evs []callflow.Event) {
	if m.newDeliveries() {
		m.kickHooks()
	}
	for _, ev := range evs {
		m.push.Observe(ev)
	}
}

// close stops the services: the outbox writes what is queued, background pushes stop.
func (m *messaging) close() {
	m.stopHooks()
	m.hooksTr.Close()
	m.push.Close()
	m.chat.Close()
	m.presence.Close()
}

// messagingRoutes serves the admin API of push credentials and webhooks.
func (s *Server) messagingRoutes() {
	api.New(s.accounts, s.store, s.adminToken, s.cfg.Logger).MessagingRoutes(s.mux, api.Messaging{
		Push: s.store, Webhooks: s.store, KickWebhooks: s.msg.kickHooks, Now: s.cfg.Clock.Now,
	})
}

type messagingHandler struct {
	calls signal.Handler
	m     *messaging
}

func (h messagingHandler) DeviceOnline(dev route.Online, resume []string) {
	h.calls.DeviceOnline(dev, resume)
	h.m.chat.DeviceOnline(dev)
	h.m.presence.Changed(dev.App, dev.User)
}

func (h messagingHandler) DeviceOffline(dev route.Device) {
	h.calls.DeviceOffline(dev)
	h.m.chat.DeviceOffline(dev)
	h.m.presence.DeviceOffline(dev)
}

func (h messagingHandler) HandleMessage(dev route.Device, env *protocol.Envelope) *protocol.Envelope {
	switch {
	case strings.HasPrefix(env.Type, "chat."):
		return h.m.chat.HandleMessage(dev, env)
	case strings.HasPrefix(env.Type, "push."):
		return h.m.push.HandleMessage(dev, env)
	case strings.HasPrefix(env.Type, "presence."):
		return h.m.presence.HandleMessage(dev, env)
	}
	return h.calls.HandleMessage(dev, env)
}

// hubRef reaches the server's devices once the hub exists: through the hub, or in a
// cluster through the node, which knows the devices of the other nodes too.
type hubRef struct{ s *Server }

func (r hubRef) Send(to route.Device, env *protocol.Envelope) bool {
	if c := r.s.cluster; c != nil {
		return c.Send(to, env)
	}
	return r.s.hub.Send(to, env)
}

func (r hubRef) OnlineDevices(app, user string) []route.Online {
	if c := r.s.cluster; c != nil {
		return c.OnlineDevices(app, user)
	}
	return r.s.hub.OnlineDevices(app, user)
}

// OnlineUsers lists users of app with a device connected here or, in a cluster, elsewhere.
func (r hubRef) OnlineUsers(app string, limit int) []string {
	out := r.s.hub.OnlineUsers(app, limit)
	if c := r.s.cluster; c != nil {
		for _, u := range c.replica().OnlineUsers(app, limit) {
			if len(out) < limit && !slices.Contains(out, u) {
				out = append(out, u)
			}
		}
	}
	return out
}

// remoteChat hands a message to the node of a device connected elsewhere in a cluster.
func (r hubRef) remoteChat(to route.Device, m store.Message) bool {
	if c := r.s.cluster; c != nil {
		return c.remoteChat(to, m)
	}
	return false
}
