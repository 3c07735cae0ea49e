package duet_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/duet-rtc/duet"
	"github.com/duet-rtc/duet/internal/leaktest"
	"github.com/duet-rtc/duet/server"
	"github.com/duet-rtc/duet/server/servertest"
)

// inbox records what a ChatManagerDelegate receives.
type inbox struct {
	mu   sync.Mutex
	msgs []duet.Message
	ch   chan duet.Message
}

func newInbox() *inbox { return &inbox{ch: make(chan duet.Message, 1024)} }

func (b *inbox) MessagesDidReceive(ms []duet.Message) {
	b.mu.Lock()
	b.msgs = append(b.msgs, ms...)
	b.mu.Unlock()
	for _, m := range ms {
		b.ch <- m
	}
}

// waitN waits for n more messages and returns them.
func (b *inbox) waitN(t testing.TB, n int) []duet.Message {
	t.Helper()
	var out []duet.Message
	deadline := time.After(20 * time.Second)
	for len(out) < n {
		select {
		case m := <-b.ch:
			out = append(out, m)
		case <-deadline:
			t.Fatalf("got %d of %d messages within 20 s", len(out), n)
		}
	}
	return out
}

// none asserts that no message arrives within d.
func (b *inbox) none(t testing.TB, d time.Duration) {
	t.Helper()
	select {
	case m := <-b.ch:
		t.Fatalf("unexpected message %+v", m)
	case <-time.After(d):
	}
}

// chatClient logs username in on device with an inbox registered before the login, so that
// nothing that arrives at connect is missed.
func chatClient(t *testing.T, srv *servertest.Server, username, device string) (*duet.Client, *inbox) {
	t.Helper()
	c, err := duet.NewClient(duet.Options{AppKey: srv.AppKey, ServerURL: srv.URL, DeviceID: device, ICE: duet.ICEOptions{LoopbackOnly: true}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Register(ctxT(t), username, "pw-"+username); err != nil && duet.ErrorCodeOf(err) != duet.ErrorUserAlreadyExist {
		t.Fatalf("register %s: %v", username, err)
	}
	box := newInbox()
	c.ChatManager().AddDelegate(box, nil)
	if err := c.Login(ctxT(t), username, "pw-"+username); err != nil {
		t.Fatalf("login %s: %v", username, err)
	}
	return c, box
}

func texts(ms []duet.Message) string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Text)
	}
	return strings.Join(out, ",")
}

func TestChatOnlineToEveryDevice(t *testing.T) {
	leaktest.Check(t)
	srv := servertest.Start(t)
	alice, _ := chatClient(t, srv, "alice", "a1")
	_, phone := chatClient(t, srv, "bob", "phone")
	_, laptop := chatClient(t, srv, "bob", "laptop")
	ext := map[string]any{"em_apns_ext": map[string]any{"em_push_title": "hi"}, "n": float64(7)}
	sent, err := alice.ChatManager().SendMessage(ctxT(t), "Bob", "one", ext)
	if err != nil {
		t.Fatal(err)
	}
	if sent.ID == "" || sent.From != "alice" || sent.To != "bob" || sent.Time.IsZero() {
		t.Fatalf("sent %+v", sent)
	}
	if _, err := alice.ChatManager().SendMessage(ctxT(t), "bob", "two", nil); err != nil {
		t.Fatal(err)
	}
	for _, box := range []*inbox{phone, laptop} {
		got := box.waitN(t, 2)
		if texts(got) != "one,two" || got[0].ID != sent.ID || got[0].From != "alice" || got[0].Ext["n"] != float64(7) {
			t.Fatalf("got %+v", got)
		}
	}
	phone.none(t, 200*time.Millisecond)

	if _, err := alice.ChatManager().SendMessage(ctxT(t), "nobody", "x", nil); duet.ErrorCodeOf(err) != duet.ErrorUserNotFound {
		t.Fatalf("unknown recipient: %v", err)
	}
	if _, err := alice.ChatManager().SendMessage(ctxT(t), "bob", strings.Repeat("x", 4097), nil); err == nil {
		t.Fatal("a 4097-byte text was accepted")
	}
	if _, err := alice.ChatManager().SendMessage(ctxT(t), "bob", "", nil); err == nil {
		t.Fatal("an empty text was accepted")
	}
}

// TestChatOfflineBacklog: a few hundred messages to an offline user arrive, in order and
// once each, when the user logs in (through the server's window and the SDK's acks).
func TestChatOfflineBacklog(t *testing.T) {
	leaktest.Check(t)
	srv := servertest.Start(t, func(c *server.Config) { c.DeviceRateLimit = -1 })
	alice, _ := chatClient(t, srv, "alice", "a1")
	bob, _ := newClient(t, srv, "bob")
	if err := bob.Logout(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	const n = 300
	for i := range n {
		if _, err := alice.ChatManager().SendMessage(ctxT(t), "bob", fmt.Sprint(i), nil); err != nil {
			t.Fatal(err)
		}
	}
	_, box := chatClient(t, srv, "bob", "phone")
	got := box.waitN(t, n)
	for i, m := range got {
		if m.Text != fmt.Sprint(i) {
			t.Fatalf("message %d is %q", i, m.Text)
		}
	}
	box.none(t, 300*time.Millisecond)
}

// TestChatReconnectNoRepeats: messages received before the server restarts are not
// delivered to the delegates again when the SDK reconnects, whether or not the server got
// their acknowledgements; later ones still arrive.
func TestChatReconnectNoRepeats(t *testing.T) {
	leaktest.Check(t)
	srv := servertest.Start(t)
	alice, _ := chatClient(t, srv, "alice", "a1")
	_, box := chatClient(t, srv, "bob", "phone")
	for i := range 5 {
		if _, err := alice.ChatManager().SendMessage(ctxT(t), "bob", fmt.Sprint(i), nil); err != nil {
			t.Fatal(err)
		}
	}
	box.waitN(t, 5)
	srv.Restart() // acks in flight may be lost: the server then resends, and the SDK drops them
	waitConnected(t, alice)
	if _, err := alice.ChatManager().SendMessage(ctxT(t), "bob", "after", nil); err != nil {
		t.Fatal(err)
	}
	if got := box.waitN(t, 1); got[0].Text != "after" {
		t.Fatalf("after the restart got %q", got[0].Text)
	}
	box.none(t, 300*time.Millisecond)
}

func waitConnected(t *testing.T, c *duet.Client) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !c.IsConnected() {
		if time.Now().After(deadline) {
			t.Fatal("not reconnected within 20 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
