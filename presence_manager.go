package duet

import (
	"context"
	"log/slog"
	"slices"
	"sync"

	"github.com/duet-rtc/duet/internal/device"
	"github.com/duet-rtc/duet/protocol"
)

// Presence is one user's online state: online when at least one of their devices is
// connected to the server.
type Presence struct {
	Username string
	Online   bool
}

// PresenceResult answers a subscription: the present state of the users it covers and, by
// name, the users the app's presence policy hides (code 914, PresenceForbidden).
type PresenceResult struct {
	Presence []Presence
	Refused  map[string]ErrorCode
	// Truncated: SubscribeApp listed the first 1,000 online users and there are more.
	Truncated bool
}

// PresenceDelegate hears of presence changes of the users this client subscribed to.
// Callbacks run on the queue given to AddDelegate.
type PresenceDelegate interface {
	// PresenceDidChange reports that username came online or went offline.
	PresenceDidChange(username string, online bool)
}

// PresenceManager subscribes to the presence of users (the seed's EMPresenceManager, online
// and offline only). Get it from Client.PresenceManager. The server pushes each change
// over the device connection; a subscription lasts while the client is logged in: after a
// reconnect the SDK subscribes again and reports what changed meanwhile.
type PresenceManager struct {
	c   *Client
	log *slog.Logger

	mu        sync.Mutex
	delegates []presenceDelegate
	users     map[string]bool // subscribed by name
	contacts  bool
	app       bool
	known     map[string]bool // last state reported, by username
}

type presenceDelegate struct {
	d PresenceDelegate
	q Queue
}

func newPresenceManager(c *Client) *PresenceManager {
	return &PresenceManager{c: c, log: c.log.With("part", "presence"), users: map[string]bool{}, known: map[string]bool{}}
}

// PresenceManager returns the client's presence manager.
func (c *Client) PresenceManager() *PresenceManager { return c.presence }

// AddDelegate registers d; its callbacks run on q (nil: the SDK's serial queue).
func (m *PresenceManager) AddDelegate(d PresenceDelegate, q Queue) {
	if q == nil {
		q = m.c.queue
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.delegates = append(m.delegates, presenceDelegate{d, q})
}

// RemoveDelegate unregisters d.
func (m *PresenceManager) RemoveDelegate(d PresenceDelegate) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.delegates = slices.DeleteFunc(m.delegates, func(e presenceDelegate) bool { return e.d == d })
}

// Subscribe watches users by name (at most 200 a call, 1,000 in all).
func (m *PresenceManager) Subscribe(ctx context.Context, users []string) (PresenceResult, error) {
	return m.subscribe(ctx, protocol.PresenceSubscribe{Users: users})
}

// SubscribeContacts watches everyone in the user's contact list (ContactManager), as it
// changes.
func (m *PresenceManager) SubscribeContacts(ctx context.Context) (PresenceResult, error) {
	return m.subscribe(ctx, protocol.PresenceSubscribe{Contacts: true})
}

// SubscribeApp watches every user of the app the app's policy shows; the result lists
// those online now.
func (m *PresenceManager) SubscribeApp(ctx context.Context) (PresenceResult, error) {
	return m.subscribe(ctx, protocol.PresenceSubscribe{App: true})
}

// Unsubscribe stops watching users by name.
func (m *PresenceManager) Unsubscribe(ctx context.Context, users []string) error {
	m.mu.Lock()
	for _, u := range users {
		delete(m.users, protocol.NormalizeUsername(u))
	}
	m.mu.Unlock()
	return m.c.request(ctx, protocol.TypePresenceUnsubscribe, protocol.PresenceUnsubscribe{Users: users}, nil)
}

// UnsubscribeAll stops every subscription.
func (m *PresenceManager) UnsubscribeAll(ctx context.Context) error {
	m.mu.Lock()
	m.users, m.contacts, m.app, m.known = map[string]bool{}, false, false, map[string]bool{}
	m.mu.Unlock()
	return m.c.request(ctx, protocol.TypePresenceUnsubscribe, protocol.PresenceUnsubscribe{All: true}, nil)
}

func (m *PresenceManager) subscribe(ctx context.Context, req protocol.PresenceSubscribe) (PresenceResult, error) {
	if err := req.Check(); err != nil {
		return PresenceResult{}, err
	}
	var out protocol.PresenceSubscribed
	if err := m.c.request(ctx, protocol.TypePresenceSubscribe, req, &out); err != nil {
		return PresenceResult{}, err
	}
	res := PresenceResult{Refused: map[string]ErrorCode{}, Truncated: out.Truncated}
	m.mu.Lock()
	for _, u := range req.Users {
		m.users[protocol.NormalizeUsername(u)] = true
	}
	for _, r := range out.Refused {
		delete(m.users, r.Username)
		res.Refused[r.Username] = r.Code
	}
	m.contacts = m.contacts || req.Contacts
	m.app = m.app || req.App
	for _, p := range out.Presence {
		m.known[p.Username] = p.Online
		res.Presence = append(res.Presence, Presence(p))
	}
	m.mu.Unlock()
	return res, nil
}

// handleMessage takes a presence push.
func (m *PresenceManager) handleMessage(env *protocol.Envelope) {
	var p protocol.Presence
	if err := env.DecodeDataLoose(&p); err != nil || !protocol.ValidUsername(p.Username) {
		m.log.Warn("bad presence message ignored", "err", err)
		return
	}
	m.report([]protocol.Presence{p})
}

// report tells the delegates of the states that differ from the last ones reported.
func (m *PresenceManager) report(ps []protocol.Presence) {
	m.mu.Lock()
	var changed []protocol.Presence
	for _, p := range ps {
		if was, ok := m.known[p.Username]; !ok || was != p.Online {
			m.known[p.Username] = p.Online
			changed = append(changed, p)
		}
	}
	ds := slices.Clone(m.delegates)
	m.mu.Unlock()
	for _, e := range ds {
		d := e.d
		for _, p := range changed {
			e.q.Dispatch(func() { d.PresenceDidChange(p.Username, p.Online) })
		}
	}
}

// connected subscribes again on a new connection (the server forgets subscriptions with
// the connection they came on) and reports what changed while the client was away. ctx is
// the login's: a logout ends the requests.
func (m *PresenceManager) connected(ctx context.Context, conn *device.Conn) {
	m.mu.Lock()
	users := make([]string, 0, len(m.users))
	for u := range m.users {
		users = append(users, u)
	}
	contacts, app := m.contacts, m.app
	m.mu.Unlock()
	if len(users) == 0 && !contacts && !app {
		return
	}
	go func() {
		slices.Sort(users)
		for i := 0; i == 0 || i < len(users); i += protocol.MaxPresenceUsersPerRequest {
			req := protocol.PresenceSubscribe{Users: users[i:min(i+protocol.MaxPresenceUsersPerRequest, len(users))], Contacts: contacts && i == 0, App: app && i == 0}
			var out protocol.PresenceSubscribed
			if err := conn.Request(ctx, protocol.TypePresenceSubscribe, req, &out); err != nil {
				m.log.Warn("presence: subscribing again failed", "err", err)
				return
			}
			m.report(out.Presence)
		}
	}()
}
