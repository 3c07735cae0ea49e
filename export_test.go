package duet

import (
	"github.com/pion/transport/v5"

	"github.com/duet-rtc/duet/internal/clock"
	"github.com/duet-rtc/duet/internal/rtc"
)

// SetTestNet puts every later media connection of c on n (pion's vnet in tests), so that
// a test can put loss and blackouts between two clients without touching a real interface.
func SetTestNet(c *Client, n transport.Net) { c.calls.testNet = n }

// SetTestClock makes c's timers run on clk (a clock.Fake in tests).
func SetTestClock(c *Client, clk clock.Clock) { c.clk = clk }

// DropMedia closes the media connections of s's call on this side only, as a device that
// starts its connection over does: the other side sees its connection closed by the remote
// while the call goes on.
func DropMedia(s *CallSession) {
	s.mu.Lock()
	peers := s.peers
	s.peers = map[string]*rtc.Peer{}
	s.mu.Unlock()
	for _, p := range peers {
		p.Close()
	}
}
