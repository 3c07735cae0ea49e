//go:build !linux

package turn

import (
	"errors"
	"net"
	"net/netip"
)

// Elsewhere than Linux relays are plain sockets that pion reads: there is no fast path.

type fastPath struct{}

func newFastPath(net.IP, []*udpListener) (*fastPath, error) { return nil, nil }

func (*fastPath) stop()                                       {}
func (*fastPath) listen(net.IP, int, int) (*rawSocket, error) { return nil, errNoFastPath }
func (*fastPath) add(*relayConn)                              {}

var errNoFastPath = errors.New("turn: no fast path on this system")

type rawSocket struct{ port uint16 }

func (*rawSocket) bind(netip.AddrPort, netip.AddrPort, uint16) {}
func (*rawSocket) unbind(netip.AddrPort)                       {}
func (*rawSocket) readSlow([]byte) (int, netip.AddrPort, error) {
	return 0, netip.AddrPort{}, net.ErrClosed
}
func (*rawSocket) writeTo([]byte, netip.AddrPort) (int, error) { return 0, net.ErrClosed }
func (*rawSocket) close() error                                { return nil }
