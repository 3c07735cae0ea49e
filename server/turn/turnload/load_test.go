package turnload_test

import (
	"context"
	"log/slog"
	"net/netip"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/duet-rtc/duet/server/turn"
	"github.com/duet-rtc/duet/server/turn/turnload"
)

// TestLoadAgainstDuet runs a small load through duet's TURN server on loopback: every packet
// sent arrives, and the server's CPU is measured (here: this process).
func TestLoadAgainstDuet(t *testing.T) {
	secret := []byte("a test secret of 16+ bytes")
	srv, err := turn.New(turn.Config{
		Addr: "127.0.0.1:0", Secret: secret, UDPListeners: 2, NoTCP: true,
		Peers:  turn.PeerPolicy{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}},
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	load, err := turnload.Open(ctx, turnload.Config{
		ServerAddr: "127.0.0.1:" + strconv.Itoa(srv.Port()), Secret: secret, Allocations: 4,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer load.Close()
	if n := srv.Allocations(); n != 4 {
		t.Fatalf("server has %d allocations, want 4", n)
	}
	r, err := load.Run(ctx, 4000, 500*time.Millisecond, os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	// A busy machine may send less than asked (the generator does not burst to catch up).
	if r.Sent < 500 || r.Sent > 2000 || r.Received != r.Sent || r.Loss() != 0 {
		t.Fatalf("sent %d, received %d", r.Sent, r.Received)
	}
	if r.ServerCPU < 0 {
		t.Fatalf("CPU not measured: %v", r.ServerCPU)
	}
}
