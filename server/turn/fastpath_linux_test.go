//go:build linux

package turn

import (
	"fmt"
	"net"
	"testing"
)

// TestRelayFastAndPlain relays through both paths: the fast path (reactors, batches) and
// the plain one where pion reads every relay socket.
func TestRelayFastAndPlain(t *testing.T) {
	for _, plain := range []bool{false, true} {
		t.Run(fmt.Sprintf("plain=%v", plain), func(t *testing.T) {
			s := startServer(t, func(c *Config) { c.PlainRelays = plain })
			_, relay, err := allocate(t, s, "alice")
			if err != nil {
				t.Fatal(err)
			}
			relayRoundTrip(t, relay, 2000)
			port := uint16(relay.LocalAddr().(*net.UDPAddr).Port) //nolint:gosec
			s.relays.mu.RLock()
			rc := s.relays.live[port]
			s.relays.mu.RUnlock()
			if rc == nil {
				t.Fatal("no live relay for the allocation")
			}
			if (rc.raw == nil) != plain {
				t.Fatalf("plain=%v: raw socket %v", plain, rc.raw != nil)
			}
			if rc.raw != nil && len(*rc.raw.bindings.Load()) != 1 {
				t.Fatalf("the fast path knows %d channels, want 1", len(*rc.raw.bindings.Load()))
			}
			if got := rc.toClientPackets.Load(); got < 2000 {
				t.Fatalf("counted %d packets to the client, want 2000", got)
			}
		})
	}
}
