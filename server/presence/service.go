// Package presence pushes users' online state to the devices that subscribed to it
// (presence.subscribe, docs/PROTOCOL.md "Presence"), within the app's presence policy.
//
// One goroutine does all of the work, in order: subscriptions, their replies and the
// pushes of changes, so that a device never gets a reply older than a push it already has.
// The server tells the service of every device that came or went (here or, in a cluster,
// on another node); the service asks the directory whether the user is online anywhere and
// pushes only real changes of that answer.
package presence

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/duet-rtc/duet/protocol"
	"github.com/duet-rtc/duet/server/route"
	"github.com/duet-rtc/duet/server/store"
)

// Store is what the service reads: contact lists and the app's policy.
type Store interface {
	ListContacts(ctx context.Context, app, owner, cursor string, limit int) ([]string, error)
	HasContact(ctx context.Context, app, owner, contact string) (bool, error)
	PresencePolicy(ctx context.Context, app string) (string, error)
}

// Directory says where users are connected (on every node of a cluster).
type Directory interface {
	OnlineDevices(app, user string) []route.Online
	// OnlineUsers lists the app's users with a connected device, at most limit of them.
	OnlineUsers(app string, limit int) []string
}

// Sender reaches the devices connected to this node.
type Sender interface {
	Send(to route.Device, env *protocol.Envelope) bool
}

// Config configures a Service.
type Config struct {
	Store     Store
	Directory Directory
	Sender    Sender
	Logger    *slog.Logger
}

// Service is the presence subscriptions of this node's devices.
type Service struct {
	cfg Config
	log *slog.Logger

	mu     sync.Mutex
	queue  []job
	wake   chan struct{}
	done   chan struct{}
	closed bool

	// Owned by the worker goroutine.
	subs map[string]map[route.Device]*sub // by app
	last map[userKey]bool                 // the state last pushed, online users only
}

type userKey struct{ app, user string }

// sub is one connection's subscription.
type sub struct {
	user     string
	users    map[string]bool // watched by name
	contacts map[string]bool // the user's contacts, when watched
	app      bool
}

func (s *sub) watches(user string) bool {
	return s.app || s.users[user] || s.contacts[user]
}

// job is one unit of the worker's work: a change of a user, a request, a device gone or a
// contact list changed.
type job struct {
	kind int
	dev  route.Device
	user string
	env  *protocol.Envelope
}

const (
	jobChanged = iota
	jobRequest
	jobGone
	jobContacts
)

// New starts the service; Close stops it.
func New(cfg Config) *Service {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Service{cfg: cfg, log: cfg.Logger, wake: make(chan struct{}, 1), done: make(chan struct{}),
		subs: make(map[string]map[route.Device]*sub), last: make(map[userKey]bool)}
	go s.run()
	return s
}

// Close stops the worker; work still queued is dropped (subscriptions end with the server).
func (s *Service) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	s.mu.Unlock()
	close(s.wake)
	<-s.done
}

func (s *Service) enqueue(j job) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.queue = append(s.queue, j)
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Changed tells the service that a device of user came or went, here or on another node.
func (s *Service) Changed(app, user string) {
	s.enqueue(job{kind: jobChanged, dev: route.Device{App: app}, user: user})
}

// DeviceOffline ends the subscription of a device of this node, and counts as a change of
// its user.
func (s *Service) DeviceOffline(dev route.Device) {
	s.enqueue(job{kind: jobGone, dev: dev})
	s.Changed(dev.App, dev.User)
}

// ContactsChanged tells the service that owner's contact list changed: subscriptions that
// watch the contacts reload them.
func (s *Service) ContactsChanged(app, owner string) {
	s.enqueue(job{kind: jobContacts, dev: route.Device{App: app}, user: owner})
}

// HandleMessage takes presence.subscribe and presence.unsubscribe. The reply is sent by the
// worker, in order with the pushes, so it returns nil unless the message is malformed.
func (s *Service) HandleMessage(dev route.Device, env *protocol.Envelope) *protocol.Envelope {
	switch env.Type {
	case protocol.TypePresenceSubscribe:
		var req protocol.PresenceSubscribe
		if err := env.DecodeData(&req); err != nil {
			return protocol.NewErrorReply(env.ID, err)
		}
	case protocol.TypePresenceUnsubscribe:
		var req protocol.PresenceUnsubscribe
		if err := env.DecodeData(&req); err != nil {
			return protocol.NewErrorReply(env.ID, err)
		}
	default:
		return protocol.NewErrorReply(env.ID, protocol.NewError(protocol.CodeUnknownMessage, "unknown message type %q", env.Type))
	}
	s.enqueue(job{kind: jobRequest, dev: dev, env: env})
	return nil
}

func (s *Service) run() {
	defer close(s.done)
	for range s.wake {
		for {
			s.mu.Lock()
			q := s.queue
			s.queue = nil
			s.mu.Unlock()
			if len(q) == 0 {
				break
			}
			for _, j := range q {
				s.do(j)
			}
		}
	}
}

func (s *Service) do(j job) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	switch j.kind {
	case jobChanged:
		s.changed(ctx, j.dev.App, j.user)
	case jobGone:
		if m := s.subs[j.dev.App]; m != nil {
			delete(m, j.dev)
			if len(m) == 0 {
				delete(s.subs, j.dev.App)
			}
		}
	case jobContacts:
		for dev, sb := range s.subs[j.dev.App] {
			if sb.user == j.user && sb.contacts != nil {
				s.contactsReloaded(ctx, dev, sb)
			}
		}
	case jobRequest:
		s.request(ctx, j.dev, j.env)
	}
}

// online reports whether the user has a device connected anywhere.
func (s *Service) online(app, user string) bool {
	return len(s.cfg.Directory.OnlineDevices(app, user)) > 0
}

// changed pushes the user's presence to the subscribers that watch it and may see it, when
// it differs from what was pushed last.
func (s *Service) changed(ctx context.Context, app, user string) {
	k := userKey{app, user}
	on := s.online(app, user)
	if s.last[k] == on {
		return
	}
	if on {
		s.last[k] = true
	} else {
		delete(s.last, k)
	}
	var to []route.Device
	for dev, sb := range s.subs[app] {
		if sb.user != user && sb.watches(user) {
			to = append(to, dev)
		}
	}
	if len(to) == 0 {
		return
	}
	pol, err := s.cfg.Store.PresencePolicy(ctx, app)
	if err != nil {
		s.log.Warn("presence: policy unreadable; change not pushed", "app", app, "err", err)
		return
	}
	env := protocol.NewMessage(protocol.TypePresence, "", protocol.Presence{Username: user, Online: on})
	for _, dev := range to {
		if pol == store.PresenceContacts && !s.mayContacts(ctx, app, user, s.subs[app][dev].user) {
			continue
		}
		s.cfg.Sender.Send(dev, env)
	}
}

// mayContacts: under the policy "contacts", viewer sees user when user has viewer as a contact.
func (s *Service) mayContacts(ctx context.Context, app, user, viewer string) bool {
	ok, err := s.cfg.Store.HasContact(ctx, app, user, viewer)
	if err != nil {
		s.log.Warn("presence: contact check failed", "app", app, "err", err)
	}
	return ok && err == nil
}

// may reports whether viewer may see user's presence under pol.
func (s *Service) may(ctx context.Context, pol, app, user, viewer string) bool {
	return pol != store.PresenceContacts || user == viewer || s.mayContacts(ctx, app, user, viewer)
}
