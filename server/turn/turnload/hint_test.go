package turnload

import (
	"net"
	"strings"
	"testing"
)

// TestPeerHint: channels that do not bind to loopback peers name the server flag that allows
// them; peers on a public address get no hint.
func TestPeerHint(t *testing.T) {
	peer, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	l := &Load{peers: []*net.UDPConn{peer}}
	if h := l.peerHint(); !strings.Contains(h, "--turn-allow-peers 127.0.0.1/32") {
		t.Errorf("hint for loopback peers: %q", h)
	}
}
