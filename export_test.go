package duet

import (
	"github.com/pion/transport/v5"

	"github.com/duet-rtc/duet/internal/clock"
	"github.com/duet-rtc/duet/internal/rtc"
)

// SetTestNet puts every later media connection of c on n (pion's vnet in tests), so that
// a test can put loss and blackouts between two clients without touching a real interface.
func SetTestNet(c *Client, n transport.Net) { c.calls.testNet = n }

// NewClientSpeaking is NewClient for an SDK that speaks only the protocol versions given
// (oldest first): an older or a newer SDK than this one.
func NewClientSpeaking(opts Options, versions ...int) (*Client, error) {
	opts.versions = versions
	return NewClient(opts)
}

// SetTestClock makes c's timers run on clk (a clock.Fake in tests).
func SetTestClock(c *Client, clk clock.Clock) { c.clk = clk }

// RemoteClosed tells c's call manager that the remote device of s closed s's media
// connection (what pion reports on a DTLS close_notify), without relying on that one
// datagram arriving.
func RemoteClosed(c *Client, s *CallSession) {
	s.mu.Lock()
	dev := s.remoteDevice
	s.mu.Unlock()
	c.calls.peerFailed(s, dev, rtc.ErrClosedByRemote)
}

// NodeOf returns the REST URL of the node c talks to.
func NodeOf(c *Client) string { return c.currentNode().rest }
