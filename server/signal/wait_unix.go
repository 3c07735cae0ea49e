//go:build unix

package signal

import (
	"crypto/tls"
	"net"
	"syscall"
)

// rawConn returns the socket's syscall.RawConn when the hub can wait on it directly: plain
// TCP or Unix sockets, not TLS (whose buffered records only the tls.Conn knows about).
func rawConn(nc net.Conn) syscall.RawConn {
	switch nc := nc.(type) {
	case *net.TCPConn:
		rc, err := nc.SyscallConn()
		if err == nil {
			return rc
		}
	case *net.UnixConn:
		rc, err := nc.SyscallConn()
		if err == nil {
			return rc
		}
	case interface{ NetConn() net.Conn }:
		// A wrapper that exposes what it wraps (tls.Conn has buffered records: not waited on).
		if _, tls := nc.(interface{ ConnectionState() tls.ConnectionState }); !tls {
			return rawConn(nc.NetConn())
		}
	}
	return nil
}

// waitReadable blocks until the socket has something to read (or an error or EOF to
// report), without reading it. An idle reader parks here, a few frames deep, rather than in
// the WebSocket library's frame reader, so that the garbage collector can shrink its stack to
// the minimum.
func waitReadable(rc syscall.RawConn) {
	_ = rc.Read(peekReady) // an error (a closed socket) shows up at the next read
}

// peekReady reports whether fd has data, EOF or an error pending.
func peekReady(fd uintptr) bool {
	var b [1]byte
	for {
		_, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		switch err {
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return false
		}
		return true
	}
}
