package duet_test

import (
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/duet-rtc/duet"
	"github.com/duet-rtc/duet/internal/leaktest"
	"github.com/duet-rtc/duet/server/servertest"
)

// watcher records PresenceDidChange callbacks.
type watcher struct{ ch chan duet.Presence }

func (w watcher) PresenceDidChange(u string, on bool) { w.ch <- duet.Presence{Username: u, Online: on} }

func (w watcher) next(t *testing.T) duet.Presence {
	t.Helper()
	select {
	case p := <-w.ch:
		return p
	case <-time.After(20 * time.Second):
		t.Fatal("no presence change within 20 s")
	}
	return duet.Presence{}
}

// TestPresenceManager: a subscription by name reports bob's logins and logouts, survives a
// server restart (the SDK subscribes again), and the contacts API keeps a list.
func TestPresenceManager(t *testing.T) {
	leaktest.Check(t)
	srv := servertest.Start(t)
	alice, _ := newClient(t, srv, "alice")
	bob, _ := newLoggedOutClient(t, srv, "bob")
	w := watcher{make(chan duet.Presence, 16)}
	alice.PresenceManager().AddDelegate(w, nil)
	res, err := alice.PresenceManager().Subscribe(ctxT(t), []string{"Bob"})
	if err != nil || len(res.Presence) != 1 || res.Presence[0] != (duet.Presence{Username: "bob"}) {
		t.Fatalf("Subscribe = %+v, %v", res, err)
	}
	login(t, bob, "bob")
	if p := w.next(t); p != (duet.Presence{Username: "bob", Online: true}) {
		t.Fatalf("bob logged in: %+v", p)
	}
	srv.Restart()
	// Both reconnect; alice's new connection is subscribed again, so bob's logout reaches her.
	deadline := time.Now().Add(20 * time.Second)
	for !(alice.IsConnected() && bob.IsConnected()) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	// Whether alice subscribes again before or after bob leaves, she hears that he left:
	// from a push, or from the new subscription's reply.
	if err := bob.Logout(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	for {
		// bob may have shown offline then online across the restart; what counts is the end.
		if p := w.next(t); p == (duet.Presence{Username: "bob"}) && !bob.IsConnected() {
			break
		}
	}

	cm := alice.ContactManager()
	for _, u := range []string{"bob", "Bob"} {
		if err := cm.AddContact(ctxT(t), u); err != nil {
			t.Fatalf("AddContact(%s): %v", u, err)
		}
	}
	if err := cm.AddContact(ctxT(t), "nobody"); duet.ErrorCodeOf(err) != duet.ErrorUserNotFound {
		t.Errorf("AddContact(nobody) = %v; want 204", err)
	}
	if all, err := cm.GetAllContacts(ctxT(t)); err != nil || !slices.Equal(all, []string{"bob"}) {
		t.Errorf("GetAllContacts = %v, %v", all, err)
	}
	if err := cm.DeleteContact(ctxT(t), "bob"); err != nil {
		t.Fatal(err)
	}
	if err := cm.DeleteContact(ctxT(t), "bob"); duet.ErrorCodeOf(err) != 907 {
		t.Errorf("DeleteContact twice = %v; want 907", err)
	}

	// Under the policy "contacts", bob (who has not added alice) is refused by name.
	if st, b := srv.Do(http.MethodPut, "/admin/v1/apps/demo/duet/settings", srv.AdminToken(), []byte(`{"presence":"contacts"}`)); st != http.StatusOK {
		t.Fatalf("policy: %d %s", st, b)
	}
	res, err = alice.PresenceManager().Subscribe(ctxT(t), []string{"bob"})
	if err != nil || len(res.Presence) != 0 || res.Refused["bob"] != duet.ErrorPresenceForbidden {
		t.Fatalf("Subscribe under the contacts policy = %+v, %v; want bob refused 914", res, err)
	}
}
