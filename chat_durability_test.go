package duet_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/duet-rtc/duet"
)

// TestMessagesSurviveServerKills: messages to an offline user are sent while the server
// process is SIGKILLed and restarted on the same data folder, between sends, during sends
// (the SDK resends under the same id), and while the recipient is receiving its backlog.
// Every message arrives exactly once, in order.
func TestMessagesSurviveServerKills(t *testing.T) {
	p := newServerProcess(t, serverStore{name: "sqlite"})
	p.start()
	url := p.url()

	newSDK := func(user, device string, box *inbox) *duet.Client {
		c, err := duet.NewClient(duet.Options{AppKey: "demo#duet", ServerURL: url, DeviceID: device})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		if err := c.Register(ctxT(t), user, "pw"); err != nil && duet.ErrorCodeOf(err) != duet.ErrorUserAlreadyExist {
			t.Fatal(err)
		}
		if box != nil {
			c.ChatManager().AddDelegate(box, nil)
		}
		return c
	}
	alice := newSDK("alice", "a1", nil)
	if err := alice.Login(ctxT(t), "alice", "pw"); err != nil {
		t.Fatal(err)
	}
	box := newInbox()
	bob := newSDK("bob", "bob-phone", box) // registered, not logged in: offline

	const total = 160
	sent := 0
	send := func(n int) {
		t.Helper()
		for range n {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			_, err := alice.ChatManager().SendMessage(ctx, "bob", fmt.Sprint(sent), map[string]any{"n": float64(sent)})
			cancel()
			if err != nil {
				t.Fatalf("send %d: %v", sent, err)
			}
			sent++
			time.Sleep(25 * time.Millisecond) // within the server's per-device rate limit
		}
	}
	restart := func() {
		t.Helper()
		p.kill()
		p.start()
	}

	// 1. Killed between sends: what was acknowledged to the sender is on disk.
	send(40)
	restart()
	waitConnected(t, alice)

	// 2. Killed during sends: a send in flight is resent under its id after the reconnect.
	done := make(chan struct{})
	go func() {
		defer close(done)
		time.Sleep(300 * time.Millisecond)
		restart()
	}()
	send(40)
	<-done
	waitConnected(t, alice)

	// 3. Killed while bob receives his backlog: what he got stays got; the rest comes after
	// his SDK reconnects.
	if err := bob.Login(ctxT(t), "bob", "pw"); err != nil {
		t.Fatal(err)
	}
	first := box.waitN(t, 20)
	restart()
	send(40) // alice reconnects inside SendMessage
	// 4. And once more, with everything in flight.
	go func() {
		time.Sleep(200 * time.Millisecond)
		restart()
	}()
	send(total - sent)
	got := append(first, box.waitN(t, total-len(first))...)
	box.none(t, time.Second)
	for i, m := range got {
		if m.Text != fmt.Sprint(i) || m.Ext["n"] != float64(i) || m.From != "alice" {
			t.Fatalf("message %d is %+v", i, m)
		}
	}
	ids := map[string]bool{}
	for _, m := range got {
		if ids[m.ID] {
			t.Fatalf("message id %s delivered twice", m.ID)
		}
		ids[m.ID] = true
	}
}
