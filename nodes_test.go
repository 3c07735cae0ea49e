package duet_test

import (
	"path/filepath"
	"testing"

	"github.com/duet-rtc/duet"
	"github.com/duet-rtc/duet/server"
	"github.com/duet-rtc/duet/server/servertest"
	"github.com/duet-rtc/duet/server/store/sqlite"
)

// twoNodes starts two servers that share one store: two nodes of one deployment.
func twoNodes(t *testing.T) (a, b *servertest.Server) {
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "duet.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	shared := func(cfg *server.Config) { cfg.Store = st }
	return servertest.Start(t, shared), servertest.Start(t, shared)
}

// TestClientMovesToAnotherNode: a client given both nodes connects to one; when that node
// goes away it reconnects to the other, still logged in.
func TestClientMovesToAnotherNode(t *testing.T) {
	a, b := twoNodes(t)
	c, rec := newClientAt(t, a.AppKey, a.URL+", "+b.URL+"/", "nodes-alice")
	rec.wait(t, "conn:connected")
	byURL := map[string]*servertest.Server{a.URL: a, b.URL: b}
	first := byURL[duet.NodeOf(c)]
	if first == nil {
		t.Fatalf("client on %q, not one of the nodes", duet.NodeOf(c))
	}
	first.Stop()
	rec.wait(t, "conn:disconnected")
	rec.wait(t, "conn:connected")
	if now := byURL[duet.NodeOf(c)]; now == first || now == nil {
		t.Fatalf("client on %q after its node went away", duet.NodeOf(c))
	}
	if !c.IsConnected() || c.CurrentUsername() != "nodes-alice" {
		t.Fatalf("connected=%v user=%q", c.IsConnected(), c.CurrentUsername())
	}
}

// TestLoginSkipsADeadNode: Login goes on to the next node when its first one refuses the
// connection.
func TestLoginSkipsADeadNode(t *testing.T) {
	a, b := twoNodes(t)
	dead := b.URL
	b.Stop()
	for range 4 { // whichever node the client starts at
		c, _ := newLoggedOutClientAt(t, a.AppKey, dead+","+a.URL, "nodes-bob")
		login(t, c, "nodes-bob")
		if duet.NodeOf(c) != a.URL {
			t.Fatalf("logged in on %q", duet.NodeOf(c))
		}
		c.Close()
	}
}
