//go:build !linux

package udpbatch

import (
	"net/netip"
	"syscall"
)

// batching: elsewhere there is no recvmmsg or sendmmsg, so a Conn uses the socket
// directly, one datagram a call.
const batching = false

// The batch types exist only so that the rest of the package compiles; without batching
// a Conn never makes one.

type reader struct{}

func newReader(syscall.RawConn, bool) *reader         { return nil }
func (*reader) read() (int, error)                    { return 0, nil }
func (*reader) datagram(int) ([]byte, netip.AddrPort) { return nil, netip.AddrPort{} }

type sendQueue struct{ n int }

func newSendQueue(bool) *sendQueue            { return nil }
func (*sendQueue) full() bool                 { return false }
func (*sendQueue) add([]byte, netip.AddrPort) {}

type sender struct{}

func newSender(syscall.RawConn) *sender { return nil }
func (*sender) send(*sendQueue) error   { return nil }
