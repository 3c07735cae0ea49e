package presence

import (
	"context"
	"slices"
	"strings"

	"github.com/duet-rtc/duet/protocol"
	"github.com/duet-rtc/duet/server/route"
	"github.com/duet-rtc/duet/server/store"
)

// This file: the requests (presence.subscribe, presence.unsubscribe) and the contact lists
// they follow. Everything here runs on the service's worker goroutine.

// request runs a presence.subscribe or presence.unsubscribe and sends its reply.
func (s *Service) request(ctx context.Context, dev route.Device, env *protocol.Envelope) {
	var reply any
	var err error
	if env.Type == protocol.TypePresenceSubscribe {
		reply, err = s.subscribe(ctx, dev, env)
	} else {
		s.unsubscribe(dev, env)
	}
	if env.ID == "" {
		if err != nil {
			s.cfg.Sender.Send(dev, &protocol.Envelope{Type: protocol.TypeError, Error: asError(err)})
		}
		return
	}
	if err != nil {
		s.cfg.Sender.Send(dev, protocol.NewErrorReply(env.ID, err))
		return
	}
	s.cfg.Sender.Send(dev, protocol.NewReply(env.ID, reply))
}

func asError(err error) *protocol.Error {
	if pe, ok := err.(*protocol.Error); ok {
		return pe
	}
	return protocol.NewError(protocol.CodeGeneral, "%v", err)
}

func (s *Service) subOf(dev route.Device) *sub {
	m := s.subs[dev.App]
	if m == nil {
		m = make(map[route.Device]*sub)
		s.subs[dev.App] = m
	}
	sb := m[dev]
	if sb == nil {
		sb = &sub{user: dev.User, users: make(map[string]bool)}
		m[dev] = sb
	}
	return sb
}

func (s *Service) subscribe(ctx context.Context, dev route.Device, env *protocol.Envelope) (*protocol.PresenceSubscribed, error) {
	var req protocol.PresenceSubscribe
	if err := env.DecodeData(&req); err != nil {
		return nil, err
	}
	pol, err := s.cfg.Store.PresencePolicy(ctx, dev.App)
	if err != nil {
		s.log.Error("presence: policy unreadable", "app", dev.App, "err", err)
		return nil, protocol.NewError(protocol.CodeDatabase, "database error")
	}
	sb := s.subOf(dev)
	out := &protocol.PresenceSubscribed{Presence: []protocol.Presence{}}
	seen := make(map[string]bool)
	report := func(u string) {
		if !seen[u] {
			seen[u] = true
			out.Presence = append(out.Presence, protocol.Presence{Username: u, Online: s.online(dev.App, u)})
		}
	}
	for _, u := range req.Users {
		u = protocol.NormalizeUsername(u)
		if !sb.users[u] && len(sb.users) >= protocol.MaxPresenceUsers {
			return nil, protocol.NewError(protocol.CodeBadMessage, "a connection watches at most %d users by name", protocol.MaxPresenceUsers)
		}
		if !s.may(ctx, pol, dev.App, u, dev.User) {
			out.Refused = append(out.Refused, protocol.PresenceRefusal{Username: u, Code: protocol.CodePresenceForbidden})
			continue
		}
		sb.users[u] = true
		report(u)
	}
	if req.Contacts {
		s.reloadContacts(ctx, dev, sb)
		for _, u := range slices.Sorted(mapKeys(sb.contacts)) {
			if s.may(ctx, pol, dev.App, u, dev.User) {
				report(u)
			}
		}
	}
	if req.App {
		sb.app = true
		online := s.cfg.Directory.OnlineUsers(dev.App, protocol.MaxPresenceListed+1)
		if len(online) > protocol.MaxPresenceListed {
			online, out.Truncated = online[:protocol.MaxPresenceListed], true
		}
		for _, u := range online {
			if u != dev.User && s.may(ctx, pol, dev.App, u, dev.User) {
				report(u)
			}
		}
	}
	return out, nil
}

func mapKeys(m map[string]bool) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// reloadContacts reads the subscriber's contact list (all of it, store.MaxContacts at most).
func (s *Service) reloadContacts(ctx context.Context, dev route.Device, sb *sub) {
	set := make(map[string]bool)
	cursor := ""
	for len(set) < store.MaxContacts {
		page, err := s.cfg.Store.ListContacts(ctx, dev.App, dev.User, cursor, 500)
		if err != nil {
			s.log.Warn("presence: contacts unreadable", "app", dev.App, "user", dev.User, "err", err)
			break
		}
		for _, c := range page {
			set[strings.ToLower(c)] = true
		}
		if len(page) < 500 {
			break
		}
		cursor = page[len(page)-1]
	}
	sb.contacts = set
}

// contactsReloaded reads the subscriber's list again and pushes the present state of each
// contact that is new to the subscription (and that the policy shows): the device learns of
// an added contact's presence without subscribing again.
func (s *Service) contactsReloaded(ctx context.Context, dev route.Device, sb *sub) {
	before := sb.contacts
	s.reloadContacts(ctx, dev, sb)
	var added []string
	for u := range sb.contacts {
		if !before[u] && !sb.users[u] && !sb.app {
			added = append(added, u)
		}
	}
	if len(added) == 0 {
		return
	}
	pol, err := s.cfg.Store.PresencePolicy(ctx, dev.App)
	if err != nil {
		s.log.Warn("presence: policy unreadable", "app", dev.App, "err", err)
		return
	}
	slices.Sort(added)
	for _, u := range added {
		if s.may(ctx, pol, dev.App, u, dev.User) {
			s.cfg.Sender.Send(dev, protocol.NewMessage(protocol.TypePresence, "", protocol.Presence{Username: u, Online: s.online(dev.App, u)}))
		}
	}
}

func (s *Service) unsubscribe(dev route.Device, env *protocol.Envelope) {
	var req protocol.PresenceUnsubscribe
	if env.DecodeData(&req) != nil {
		return
	}
	sb := s.subs[dev.App][dev]
	if sb == nil {
		return
	}
	if req.All {
		delete(s.subs[dev.App], dev)
		return
	}
	for _, u := range req.Users {
		delete(sb.users, protocol.NormalizeUsername(u))
	}
	if req.Contacts {
		sb.contacts = nil
	}
	if req.App {
		sb.app = false
	}
}
