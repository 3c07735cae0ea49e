package udpbatch

import (
	"errors"
	"net/netip"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// batching: on Linux a batch moves with one recvmmsg or sendmmsg.
const batching = true

// The batches are moved with raw system calls on the non-blocking socket, through the
// runtime poller (syscall.RawConn) for the waiting. Raw, because a Go system call that goes
// through the scheduler (entersyscall) wakes the runtime's sysmon thread whenever it was
// idle, and a media server that idles between packets wakes it for every packet: on the
// relay's VM, where a thread wake-up is costly, that was a third of the server's CPU at
// eight recorded calls. recvmmsg and sendmmsg on a non-blocking UDP socket return at once,
// so they need none of what entersyscall is for.

// mmsghdr is struct mmsghdr.
type mmsghdr struct {
	hdr unix.Msghdr
	len uint32
}

// slots are the kernel's view of a batch: one iovec, address and header per datagram.
type slots struct {
	bufs  [][]byte
	names []unix.RawSockaddrInet6 // large enough for IPv4 too
	iovs  []unix.Iovec
	hdrs  []mmsghdr
}

func newSlots(n, bufSize int) *slots {
	s := &slots{bufs: make([][]byte, n), names: make([]unix.RawSockaddrInet6, n), iovs: make([]unix.Iovec, n), hdrs: make([]mmsghdr, n)}
	for i := range n {
		if bufSize > 0 {
			s.bufs[i] = make([]byte, bufSize)
		}
		s.hdrs[i].hdr.Name = (*byte)(unsafe.Pointer(&s.names[i]))
		s.hdrs[i].hdr.Iov = &s.iovs[i]
		s.hdrs[i].hdr.SetIovlen(1)
	}
	return s
}

// point aims slot i's iovec at its buffer's first n bytes (a read's whole buffer).
func (s *slots) point(i, n int) {
	if n == 0 {
		s.iovs[i].Base = nil
	} else {
		s.iovs[i].Base = &s.bufs[i][0]
	}
	s.iovs[i].SetLen(n)
}

// reader reads batches: one recvmmsg fills its slots.
type reader struct {
	rc    syscall.RawConn
	is4   bool
	s     *slots
	n     int   // datagrams the last read returned
	err   error // its error
	rfunc func(fd uintptr) bool
}

func newReader(rc syscall.RawConn, is4 bool) *reader {
	r := &reader{rc: rc, is4: is4, s: newSlots(readBatch, maxDatagram)}
	for i := range readBatch {
		r.s.point(i, maxDatagram)
	}
	r.rfunc = r.recvmmsg
	return r
}

// read fills the slots with one recvmmsg, waiting until the socket is readable.
func (r *reader) read() (int, error) {
	for i := range r.s.hdrs {
		r.s.hdrs[i].hdr.Namelen = uint32(unsafe.Sizeof(r.s.names[i]))
		r.s.hdrs[i].len = 0
	}
	r.n, r.err = 0, nil
	if err := r.rc.Read(r.rfunc); err != nil {
		return 0, err
	}
	return r.n, r.err
}

func (r *reader) recvmmsg(fd uintptr) bool {
	for {
		n, _, errno := unix.RawSyscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&r.s.hdrs[0])), uintptr(len(r.s.hdrs)), 0, 0, 0)
		switch errno {
		case 0:
			r.n = int(n)
			return true
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return false // wait for the poller
		default:
			r.err = errno
			return true
		}
	}
}

// datagram returns slot i's bytes and sender.
func (r *reader) datagram(i int) ([]byte, netip.AddrPort) {
	name := &r.s.names[i]
	var from netip.AddrPort
	switch name.Family {
	case unix.AF_INET:
		sa := (*unix.RawSockaddrInet4)(unsafe.Pointer(name))
		from = netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), getPort(&sa.Port))
	case unix.AF_INET6:
		ip := netip.AddrFrom16(name.Addr)
		if r.is4 {
			ip = ip.Unmap()
		}
		from = netip.AddrPortFrom(ip, getPort(&name.Port))
	}
	return r.s.bufs[i][:r.s.hdrs[i].len], from
}

// sendQueue is a batch of datagrams waiting to be sent, with storage of their own (the
// writer's buffer is reused as soon as it returns).
type sendQueue struct {
	s   *slots
	n   int
	is4 bool
}

func newSendQueue(is4 bool) *sendQueue {
	return &sendQueue{s: newSlots(writeBatch, 0), is4: is4}
}

func (q *sendQueue) full() bool { return q.n == writeBatch }

// add queues a copy of p for addr; the queue must not be full.
func (q *sendQueue) add(p []byte, addr netip.AddrPort) {
	i := q.n
	q.s.bufs[i] = append(q.s.bufs[i][:0], p...)
	q.s.point(i, len(p))
	h := &q.s.hdrs[i].hdr
	ip := addr.Addr()
	if q.is4 {
		sa := (*unix.RawSockaddrInet4)(unsafe.Pointer(&q.s.names[i]))
		*sa = unix.RawSockaddrInet4{Family: unix.AF_INET, Addr: ip.Unmap().As4()}
		putPort(&sa.Port, addr.Port())
		h.Namelen = unix.SizeofSockaddrInet4
	} else {
		q.s.names[i] = unix.RawSockaddrInet6{Family: unix.AF_INET6, Addr: ip.As16()}
		putPort(&q.s.names[i].Port, addr.Port())
		h.Namelen = unix.SizeofSockaddrInet6
	}
	q.n++
}

// sender sends queues: as few sendmmsg as the kernel takes, waiting while the socket
// buffer is full.
type sender struct {
	rc       syscall.RawConn
	q        *sendQueue
	from, to int
	sent     int
	err      error
	wfunc    func(fd uintptr) bool
}

func newSender(rc syscall.RawConn) *sender {
	s := &sender{rc: rc}
	s.wfunc = s.sendmmsg
	return s
}

// send sends q and empties it. A datagram the kernel refuses is skipped; the first such
// error is returned.
func (s *sender) send(q *sendQueue) error {
	var firstErr error
	for from := 0; from < q.n; {
		s.q, s.from, s.to, s.sent, s.err = q, from, q.n, 0, nil
		if err := s.rc.Write(s.wfunc); err != nil {
			firstErr = err
			break
		}
		if s.err != nil {
			if firstErr == nil {
				firstErr = s.err
			}
			from++ // skip the datagram that failed
			continue
		}
		from += s.sent
	}
	s.q = nil
	q.n = 0
	return firstErr
}

func (s *sender) sendmmsg(fd uintptr) bool {
	for {
		n, _, errno := unix.RawSyscall6(unix.SYS_SENDMMSG, fd, uintptr(unsafe.Pointer(&s.q.s.hdrs[s.from])), uintptr(s.to-s.from), 0, 0, 0)
		switch errno {
		case 0:
			s.sent = int(n)
			if n == 0 {
				s.err = errors.New("udpbatch: sendmmsg sent nothing")
			}
			return true
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return false // wait until writable
		default:
			s.err = errno
			return true
		}
	}
}

// getPort and putPort read and write a port in network byte order, on any host.
func getPort(p *uint16) uint16 {
	b := (*[2]byte)(unsafe.Pointer(p))
	return uint16(b[0])<<8 | uint16(b[1])
}

func putPort(p *uint16, port uint16) {
	b := (*[2]byte)(unsafe.Pointer(p))
	b[0], b[1] = byte(port>>8), byte(port)
}
