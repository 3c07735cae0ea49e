package chat

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/duet-rtc/duet/internal/clock"
	"github.com/duet-rtc/duet/protocol"
	"github.com/duet-rtc/duet/server/route"
	"github.com/duet-rtc/duet/server/store"
	"github.com/duet-rtc/duet/server/store/sqlite"
)

const app = "org#app"

var t0 = time.UnixMilli(1_760_000_000_000).UTC()

// fakeNet is the hub seen from the chat service: connected devices and what they were
// sent. A device can be made to refuse frames (a full send queue).
type fakeNet struct {
	mu     sync.Mutex
	online map[route.Device]bool
	full   map[route.Device]bool
	got    map[route.Device][]protocol.ChatMessage
}

func newFakeNet() *fakeNet {
	return &fakeNet{online: map[route.Device]bool{}, full: map[route.Device]bool{}, got: map[route.Device][]protocol.ChatMessage{}}
}

func (n *fakeNet) Send(to route.Device, env *protocol.Envelope) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if !n.online[to] || n.full[to] {
		return false
	}
	var m protocol.ChatMessage
	if err := json.Unmarshal(env.Data, &m); err != nil || env.Type != protocol.TypeChatMessage {
		panic("not a chat.message")
	}
	n.got[to] = append(n.got[to], m)
	return true
}

func (n *fakeNet) OnlineDevices(app, user string) []route.Online {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []route.Online
	for d := range n.online {
		if d.App == app && d.User == user {
			out = append(out, route.Online{Device: d})
		}
	}
	return out
}

func (n *fakeNet) take(d route.Device) []protocol.ChatMessage {
	n.mu.Lock()
	defer n.mu.Unlock()
	got := n.got[d]
	delete(n.got, d)
	return got
}

type harness struct {
	t      *testing.T
	st     *sqlite.Store
	path   string
	net    *fakeNet
	s      *Service
	pushed []store.Message
	mu     sync.Mutex
}

func newHarness(t *testing.T, window int) *harness {
	t.Helper()
	path := filepath.Join(t.TempDir(), "duet.db")
	st, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := st.CreateApp(ctx, store.App{Key: app, Org: "org", Name: "app", ClientID: "c", ClientSecret: "s", Registration: "open", Created: t0}); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"alice", "bob", "carol"} {
		if err := st.CreateUsers(ctx, []store.User{{UUID: u, App: app, Username: u, PasswordHash: "x", Created: t0, Modified: t0}}); err != nil {
			t.Fatal(err)
		}
	}
	h := &harness{t: t, st: st, path: path, net: newFakeNet()}
	h.start(window)
	t.Cleanup(func() { h.s.Close(); h.st.Close() })
	return h
}

func (h *harness) start(window int) {
	h.s = New(Config{Store: h.st, Sender: h.net, Directory: h.net, Clock: clock.NewFake(t0), Window: window,
		Logger: slog.New(slog.DiscardHandler), Pusher: func(m store.Message) {
			h.mu.Lock()
			h.pushed = append(h.pushed, m)
			h.mu.Unlock()
		}})
}

func dev(user, id string) route.Device { return route.Device{App: app, User: user, ID: id} }

func (h *harness) connect(d route.Device) {
	h.net.mu.Lock()
	h.net.online[d] = true
	h.net.mu.Unlock()
	h.s.DeviceOnline(route.Online{Device: d})
}

func (h *harness) disconnect(d route.Device) {
	h.net.mu.Lock()
	delete(h.net.online, d)
	h.net.mu.Unlock()
	h.s.DeviceOffline(d)
}

func (h *harness) send(from route.Device, to, text string) *protocol.Envelope {
	return h.s.HandleMessage(from, protocol.NewMessage(protocol.TypeChatSend, "s", &protocol.ChatSend{To: to, Text: text}))
}

func (h *harness) mustSend(from route.Device, to, text string) protocol.ChatSent {
	h.t.Helper()
	r := h.send(from, to, text)
	if r == nil || r.Error != nil {
		h.t.Fatalf("send: %+v", r)
	}
	var sent protocol.ChatSent
	json.Unmarshal(r.Data, &sent)
	return sent
}

func (h *harness) ack(d route.Device, upTo int64) {
	h.t.Helper()
	if r := h.s.HandleMessage(d, protocol.NewMessage(protocol.TypeChatAck, "", &protocol.ChatAck{UpTo: upTo})); r != nil {
		h.t.Fatalf("ack: %+v", r)
	}
}

func texts(ms []protocol.ChatMessage) string {
	var out []string
	for _, m := range ms {
		out = append(out, fmt.Sprintf("%d:%s", m.Seq, m.Text))
	}
	return fmt.Sprint(out)
}

func TestDeliveryToEveryDeviceInOrder(t *testing.T) {
	h := newHarness(t, 32)
	a := dev("alice", "a1")
	b1, b2 := dev("bob", "b1"), dev("bob", "b2")
	h.connect(a)
	h.connect(b1)
	h.connect(b2)
	sent := h.mustSend(a, "Bob", "one")
	h.mustSend(a, "bob", "two")
	if sent.ID == "" || sent.Timestamp != t0.UnixMilli() {
		t.Fatalf("reply %+v", sent)
	}
	for _, d := range []route.Device{b1, b2} {
		got := h.net.take(d)
		if texts(got) != "[1:one 2:two]" || got[0].From != "alice" || got[0].To != "bob" || got[0].ID != sent.ID {
			t.Fatalf("%s got %+v", d.ID, got)
		}
	}
	if len(h.pushed) != 0 {
		t.Fatal("pushed to an online user")
	}
}

func TestOfflineDeviceGetsMessagesOnConnectAndPush(t *testing.T) {
	h := newHarness(t, 32)
	a := dev("alice", "a1")
	h.connect(a)
	for i := range 3 {
		h.mustSend(a, "bob", fmt.Sprint("m", i))
	}
	if len(h.pushed) != 3 || h.pushed[0].To != "bob" {
		t.Fatalf("pushes %+v", h.pushed)
	}
	b := dev("bob", "b1")
	h.connect(b)
	if got := h.net.take(b); texts(got) != "[1:m0 2:m1 3:m2]" {
		t.Fatalf("on connect: %s", texts(got))
	}
	// Not acknowledged: a reconnect (replaced connection) sends them again.
	h.connect(b)
	if got := h.net.take(b); texts(got) != "[1:m0 2:m1 3:m2]" {
		t.Fatalf("after reconnect: %s", texts(got))
	}
	h.ack(b, 2)
	h.disconnect(b)
	h.connect(b)
	if got := h.net.take(b); texts(got) != "[3:m2]" {
		t.Fatalf("after ack 2: %s", texts(got))
	}
	// A second device of bob has its own cursor: it gets everything.
	b2 := dev("bob", "b2")
	h.connect(b2)
	if got := h.net.take(b2); len(got) != 3 {
		t.Fatalf("new device got %s", texts(got))
	}
}

func TestWindowAndAcks(t *testing.T) {
	h := newHarness(t, 4)
	a, b := dev("alice", "a1"), dev("bob", "b1")
	h.connect(a)
	for i := range 10 {
		h.mustSend(a, "bob", fmt.Sprint(i))
	}
	h.connect(b)
	if got := h.net.take(b); len(got) != 4 || got[3].Seq != 4 {
		t.Fatalf("window of 4: %s", texts(got))
	}
	h.mustSend(a, "bob", "10") // the window is full: held back
	if got := h.net.take(b); len(got) != 0 {
		t.Fatalf("sent beyond the window: %s", texts(got))
	}
	h.ack(b, 100) // clamped to what was sent (4)
	if got := h.net.take(b); texts(got) != "[5:4 6:5 7:6 8:7]" {
		t.Fatalf("after ack: %s", texts(got))
	}
	h.ack(b, 8)
	h.ack(b, 3) // old acks change nothing
	if got := h.net.take(b); texts(got) != "[9:8 10:9 11:10]" {
		t.Fatalf("after second ack: %s", texts(got))
	}
	acked, last, _ := h.st.DeliveryState(context.Background(), app, "bob", "b1")
	if acked != 8 || last != 11 {
		t.Fatalf("stored cursor %d of %d", acked, last)
	}
}

// A full send queue stops delivery to the device (the hub drops it); the next connection
// resumes from the cursor.
func TestSlowDeviceResumes(t *testing.T) {
	h := newHarness(t, 32)
	a, b := dev("alice", "a1"), dev("bob", "b1")
	h.connect(a)
	h.connect(b)
	h.mustSend(a, "bob", "one")
	h.net.mu.Lock()
	h.net.full[b] = true
	h.net.mu.Unlock()
	h.mustSend(a, "bob", "two")
	h.net.mu.Lock()
	h.net.full[b] = false
	h.net.mu.Unlock()
	h.mustSend(a, "bob", "three") // the device is gone until it reconnects
	if got := h.net.take(b); texts(got) != "[1:one]" {
		t.Fatalf("before reconnect: %s", texts(got))
	}
	h.connect(b)
	if got := h.net.take(b); texts(got) != "[1:one 2:two 3:three]" {
		t.Fatalf("after reconnect: %s", texts(got))
	}
}

func TestSendErrors(t *testing.T) {
	h := newHarness(t, 32)
	a := dev("alice", "a1")
	h.connect(a)
	if r := h.send(a, "nobody", "hi"); r.Error == nil || r.Error.Code != protocol.CodeUserNotFound {
		t.Fatalf("unknown recipient: %+v", r)
	}
	if r := h.send(a, "bad name", "hi"); r.Error == nil || r.Error.Code != protocol.CodeInvalidUsername {
		t.Fatalf("bad recipient: %+v", r)
	}
	if r := h.s.HandleMessage(a, &protocol.Envelope{Type: protocol.TypeChatSend, ID: "x", Data: []byte(`{"to":"bob","text":""}`)}); r.Error == nil || r.Error.Code != protocol.CodeBadMessage {
		t.Fatalf("empty text: %+v", r)
	}
	// A resend with the same id is the same message; another text under that id is refused.
	send := func(text string) *protocol.Envelope {
		return h.s.HandleMessage(a, protocol.NewMessage(protocol.TypeChatSend, "s", &protocol.ChatSend{ID: "cli-1", To: "bob", Text: text}))
	}
	if r := send("hello"); r.Error != nil {
		t.Fatal(r.Error)
	}
	if r := send("hello"); r.Error != nil {
		t.Fatalf("resend: %+v", r)
	}
	if r := send("changed"); r.Error == nil || r.Error.Code != protocol.CodeBadMessage {
		t.Fatalf("reused id: %+v", r)
	}
	b := dev("bob", "b1")
	h.connect(b)
	if got := h.net.take(b); texts(got) != "[1:hello]" {
		t.Fatalf("resend stored twice: %s", texts(got))
	}
	if r := h.s.HandleMessage(a, &protocol.Envelope{Type: "chat.nope", ID: "n"}); r.Error == nil || r.Error.Code != protocol.CodeUnknownMessage {
		t.Fatalf("unknown type: %+v", r)
	}
}

// TestRestartBetweenSendAndDelivery: messages stored before a restart reach the device after
// it, and acknowledged ones do not come back.
func TestRestartBetweenSendAndDelivery(t *testing.T) {
	h := newHarness(t, 32)
	a, b := dev("alice", "a1"), dev("bob", "b1")
	h.connect(a)
	h.connect(b)
	h.mustSend(a, "bob", "one")
	h.mustSend(a, "bob", "two")
	h.ack(b, 1)
	h.net.take(b)
	h.s.Close()
	h.st.Close()
	st, err := sqlite.Open(h.path)
	if err != nil {
		t.Fatal(err)
	}
	h.st = st
	h.start(32)
	h.connect(b)
	if got := h.net.take(b); texts(got) != "[2:two]" {
		t.Fatalf("after restart: %s", texts(got))
	}
}

// TestConcurrentSenders: many senders, two receiving devices acknowledging as they go; each
// device sees every message once, in seq order. Run with -race.
func TestConcurrentSenders(t *testing.T) {
	h := newHarness(t, 8)
	b1, b2 := dev("bob", "b1"), dev("bob", "b2")
	h.connect(b1)
	h.connect(b2)
	const senders, each = 4, 40
	var wg sync.WaitGroup
	for i := range senders {
		from := dev([]string{"alice", "carol"}[i%2], fmt.Sprint("d", i))
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range each {
				if r := h.send(from, "bob", fmt.Sprint(i, "-", j)); r.Error != nil {
					t.Errorf("send: %v", r.Error)
				}
			}
		}()
	}
	stop := make(chan struct{})
	var ackers sync.WaitGroup
	got := make([][]protocol.ChatMessage, 2)
	for i, d := range []route.Device{b1, b2} {
		ackers.Add(1)
		go func() {
			defer ackers.Done()
			stopping := false
			for {
				ms := h.net.take(d)
				got[i] = append(got[i], ms...)
				if len(ms) > 0 {
					h.s.HandleMessage(d, protocol.NewMessage(protocol.TypeChatAck, "", &protocol.ChatAck{UpTo: ms[len(ms)-1].Seq}))
					continue
				}
				if stopping {
					return // every sender is done and nothing more came: all delivered
				}
				select {
				case <-stop:
					stopping = true // one more look: a send may have landed after the last take
				case <-time.After(time.Millisecond):
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	ackers.Wait()
	for i, d := range []route.Device{b1, b2} {
		ms := got[i]
		if len(ms) != senders*each {
			t.Fatalf("%s got %d messages, want %d", d.ID, len(ms), senders*each)
		}
		for i, m := range ms {
			if m.Seq != int64(i+1) {
				t.Fatalf("%s: message %d has seq %d", d.ID, i, m.Seq)
			}
		}
	}
}
