package presence

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/duet-rtc/duet/internal/leaktest"
	"github.com/duet-rtc/duet/protocol"
	"github.com/duet-rtc/duet/server/route"
	"github.com/duet-rtc/duet/server/store"
)

// fakes: who is online, the contact lists and the policy, and what was sent to whom.
type fakeWorld struct {
	mu       sync.Mutex
	online   map[string]bool
	contacts map[string][]string // owner → contacts
	policy   string
	sent     chan sentEnv
}

type sentEnv struct {
	to  route.Device
	env *protocol.Envelope
}

func (f *fakeWorld) OnlineDevices(_, user string) []route.Online {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.online[user] {
		return []route.Online{{Device: route.Device{App: "a#b", User: user, ID: "d"}}}
	}
	return nil
}

func (f *fakeWorld) OnlineUsers(string, int) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for u, on := range f.online {
		if on {
			out = append(out, u)
		}
	}
	return out
}

func (f *fakeWorld) Send(to route.Device, env *protocol.Envelope) bool {
	f.sent <- sentEnv{to, env}
	return true
}

func (f *fakeWorld) ListContacts(_ context.Context, _, owner, cursor string, limit int) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, c := range f.contacts[owner] {
		if c > cursor && len(out) < limit {
			out = append(out, c)
		}
	}
	return out, nil
}

func (f *fakeWorld) HasContact(_ context.Context, _, owner, contact string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Contains(f.contacts[owner], contact), nil
}

func (f *fakeWorld) PresencePolicy(context.Context, string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.policy, nil
}

func (f *fakeWorld) set(user string, on bool) {
	f.mu.Lock()
	f.online[user] = on
	f.mu.Unlock()
}

func (f *fakeWorld) next(t *testing.T) sentEnv {
	t.Helper()
	select {
	case s := <-f.sent:
		return s
	case <-time.After(5 * time.Second):
		t.Fatal("nothing sent within 5 s")
	}
	return sentEnv{}
}

func (f *fakeWorld) none(t *testing.T) {
	t.Helper()
	select {
	case s := <-f.sent:
		t.Fatalf("unexpected %s %s to %v", s.env.Type, s.env.Data, s.to)
	case <-time.After(50 * time.Millisecond):
	}
}

func decodePresence(t *testing.T, env *protocol.Envelope) protocol.Presence {
	t.Helper()
	var p protocol.Presence
	if env.Type != protocol.TypePresence || env.DecodeData(&p) != nil {
		t.Fatalf("want a presence push, got %s %s", env.Type, env.Data)
	}
	return p
}

// TestServiceOrderAndPolicy: replies and pushes come in order from one queue; only real
// changes are pushed; the policy "contacts" refuses and filters; a subscriber that leaves
// gets nothing more.
func TestServiceOrderAndPolicy(t *testing.T) {
	leaktest.Check(t)
	w := &fakeWorld{online: map[string]bool{"bob": true}, contacts: map[string][]string{"bob": {"alice"}},
		policy: store.PresenceApp, sent: make(chan sentEnv, 16)}
	s := New(Config{Store: w, Directory: w, Sender: w})
	defer s.Close()
	alice := route.Device{App: "a#b", User: "alice", ID: "a1"}
	s.Changed("a#b", "bob") // bob's device came before any subscriber: nothing to push

	if r := s.HandleMessage(alice, protocol.NewMessage(protocol.TypePresenceSubscribe, "1", protocol.PresenceSubscribe{Users: []string{"bob", "carol"}})); r != nil {
		t.Fatalf("a valid subscribe is answered by the worker, got %+v", r)
	}
	var got protocol.PresenceSubscribed
	if r := w.next(t); r.env.ID != "1" || r.env.DecodeData(&got) != nil || len(got.Presence) != 2 || !got.Presence[0].Online || got.Presence[1].Online {
		t.Fatalf("reply %+v %s", r.env, r.env.Data)
	}
	s.Changed("a#b", "dave") // not watched
	s.Changed("a#b", "bob")  // no real change (another device of bob)
	w.set("carol", true)
	s.Changed("a#b", "carol")
	if p := decodePresence(t, w.next(t).env); p != (protocol.Presence{Username: "carol", Online: true}) {
		t.Fatalf("carol: %+v", p)
	}
	// A malformed request is answered at once, with 900.
	if r := s.HandleMessage(alice, &protocol.Envelope{Type: protocol.TypePresenceSubscribe, ID: "x", Data: []byte(`{"users":"bob"}`)}); r == nil || r.Error == nil || r.Error.Code != protocol.CodeBadMessage {
		t.Fatalf("malformed: %+v", r)
	}

	// Policy "contacts": carol has not added alice.
	w.mu.Lock()
	w.policy = store.PresenceContacts
	w.mu.Unlock()
	s.HandleMessage(alice, protocol.NewMessage(protocol.TypePresenceSubscribe, "2", protocol.PresenceSubscribe{Users: []string{"bob", "erin"}}))
	got = protocol.PresenceSubscribed{}
	if r := w.next(t); r.env.DecodeData(&got) != nil || len(got.Presence) != 1 || got.Presence[0].Username != "bob" ||
		len(got.Refused) != 1 || got.Refused[0] != (protocol.PresenceRefusal{Username: "erin", Code: protocol.CodePresenceForbidden}) {
		t.Fatalf("under contacts: %s", r.env.Data)
	}
	w.set("carol", false)
	s.Changed("a#b", "carol") // watched from before, hidden now
	w.set("bob", false)
	s.Changed("a#b", "bob")
	if p := decodePresence(t, w.next(t).env); p != (protocol.Presence{Username: "bob"}) {
		t.Fatalf("bob, a contact of... alice: %+v (carol's change must not come first)", p)
	}
	// alice leaves: nothing more for her.
	s.DeviceOffline(alice)
	w.set("bob", true)
	s.Changed("a#b", "bob")
	w.none(t)
}
