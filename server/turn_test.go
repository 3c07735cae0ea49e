package server_test

import (
	"context"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/duet-rtc/duet/server"
	"github.com/duet-rtc/duet/server/servertest"
	"github.com/duet-rtc/duet/server/turn"
)

// TestTURNLifecycle checks the wiring: the secret is made in the data folder and kept, the
// URLs name the listening port, and Shutdown frees the port.
func TestTURNLifecycle(t *testing.T) {
	srv := servertest.Start(t, servertest.WithTURN())
	tr := srv.TURN()
	if tr == nil {
		t.Fatal("TURN is off")
	}
	secret, err := os.ReadFile(filepath.Join(srv.Config.DataDir, "turn-secret"))
	if err != nil || len(strings.TrimSpace(string(secret))) < 16 {
		t.Fatalf("turn-secret: %q %v", secret, err)
	}
	ice := tr.ICEServers(srv.AppKey, "alice", "c1")
	if len(ice) != 1 || !strings.HasPrefix(ice[0].URLs[0], "turn:127.0.0.1:") || ice[0].Credential == "" {
		t.Fatalf("ice servers %+v", ice)
	}
	// The restarted server keeps the secret: credentials issued before still verify. (A
	// request first: Shutdown cannot stop a Serve that has not begun.)
	srv.Do("GET", "/healthz", "", nil)
	srv.Restart()
	srv.Do("GET", "/healthz", "", nil)
	if got := srv.TURN().Credentials().Password(ice[0].Username); got != ice[0].Credential {
		t.Fatal("the secret changed across a restart")
	}
	port := srv.TURN().Port()
	srv.Stop()
	for _, network := range []string{"udp", "tcp"} {
		var err error
		var c interface{ Close() error }
		if network == "udp" {
			c, err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
		} else {
			c, err = net.ListenTCP("tcp4", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
		}
		if err != nil {
			t.Fatalf("%s port %d still taken after Shutdown: %v", network, port, err)
		}
		c.Close()
	}
}

// TestTURNOffByDefault: a zero TURN config starts no TURN server.
func TestTURNOffByDefault(t *testing.T) {
	srv := servertest.Start(t)
	srv.Do("GET", "/healthz", "", nil) // Serve has begun, so the cleanup's Shutdown stops it
	if srv.TURN() != nil {
		t.Fatal("TURN started without an address")
	}
}

// TestTURNPortTaken: New fails clearly when the TURN port is taken, and releases the store.
func TestTURNPortTaken(t *testing.T) {
	taken, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	dir := t.TempDir()
	_, err = server.New(context.Background(), server.Config{
		DataDir: dir, Logger: slog.New(slog.DiscardHandler),
		TURN: turn.Config{Addr: taken.LocalAddr().String(), UDPListeners: 1},
	})
	if err == nil || !strings.Contains(err.Error(), "turn") {
		t.Fatalf("New with a taken TURN port: %v", err)
	}
	// The store was closed: the folder can be opened again.
	srv, err := server.New(context.Background(), server.Config{DataDir: dir, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}
