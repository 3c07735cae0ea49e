//go:build !unix

package signal

import (
	"net"
	"syscall"
)

// rawConn returns nil: readers wait in the WebSocket library's read.
func rawConn(net.Conn) syscall.RawConn { return nil }

func waitReadable(syscall.RawConn) {}
