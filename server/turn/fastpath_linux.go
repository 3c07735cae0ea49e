//go:build linux

package turn

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The fast path relays peer → client packets without pion's per-allocation goroutine: a few
// reactors, each a goroutine that keeps its share of the relay sockets in an epoll set of
// its own and parks in Go's poller on that set, read every ready socket with recvmmsg
// straight into a send batch (the ChannelData header goes in front of the payload), and send
// the batch to the clients with one sendmmsg from a listener socket. Per packet that leaves
// two system calls shared by up to a batch of packets, one goroutine wake-up for all the
// sockets that became ready, and no allocation; the plain path costs a recvfrom, a sendto
// and a goroutine switch for each packet (see docs/ARCHITECTURE.md for the numbers).
//
// pion stays in charge of the protocol: the channel bindings the reactors use are the ones
// pion reports through its EventHandler, and packets from peers without a channel (Data
// indications, a permission-only peer) go to pion's reader unchanged.

const (
	fastBatch = 64   // datagrams per recvmmsg/sendmmsg
	fastMTU   = 1600 // pion's relay buffer size
	slowQueue = 1024 // packets waiting for pion's reader per relay; more are dropped
)

// fastPath is the set of reactors.
type fastPath struct {
	reactors []*reactor
	next     atomic.Uint32
	ids      atomic.Int32
}

// newFastPath starts one reactor per listener, each sending from its own copy of that
// listener's descriptor (so that closing the listener cannot hand the number to another
// socket under a reactor). It returns nil, nil where the relay IP is not IPv4.
func newFastPath(relayIP net.IP, listeners []*udpListener) (*fastPath, error) {
	if relayIP.To4() == nil {
		return nil, nil
	}
	f := &fastPath{}
	for _, l := range listeners {
		out := -1
		rc, err := l.UDPConn.SyscallConn()
		if err != nil {
			f.stop()
			return nil, err
		}
		var dupErr error
		if err := rc.Control(func(fd uintptr) { out, dupErr = unix.FcntlInt(fd, unix.F_DUPFD_CLOEXEC, 0) }); err != nil || dupErr != nil {
			f.stop()
			return nil, errors.Join(err, dupErr)
		}
		re, err := newReactor(out)
		if err != nil {
			unix.Close(out)
			f.stop()
			return nil, err
		}
		f.reactors = append(f.reactors, re)
		go re.run()
	}
	return f, nil
}

// stop ends the reactors and waits for them.
func (f *fastPath) stop() {
	for _, re := range f.reactors {
		re.stop()
	}
}

// listen opens a non-blocking IPv4 UDP socket on ip:port, outside Go's poller: only a
// reactor reads it.
func (f *fastPath) listen(ip net.IP, port, buffer int) (*rawSocket, error) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("turn: relay socket: %w", err)
	}
	sa := &unix.SockaddrInet4{Port: port}
	copy(sa.Addr[:], ip.To4())
	if err := unix.Bind(fd, sa); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("turn: bind relay %v: %w", hostPort(ip, port), err)
	}
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, buffer)
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF, buffer)
	got, err := unix.Getsockname(fd)
	if err != nil {
		unix.Close(fd)
		return nil, err
	}
	s := &rawSocket{fd: fd, port: uint16(got.(*unix.SockaddrInet4).Port), id: f.ids.Add(1), //nolint:gosec // a port fits
		slowWake: make(chan struct{}, 1), closed: make(chan struct{})}
	empty := map[netip.AddrPort]binding{}
	s.bindings.Store(&empty)
	return s, nil
}

// add hands rc's socket to a reactor.
func (f *fastPath) add(rc *relayConn) {
	s := rc.raw
	s.rc = rc
	s.re = f.reactors[int(f.next.Add(1))%len(f.reactors)]
	s.re.mu.Lock()
	s.re.socks[s.id] = s
	s.re.mu.Unlock()
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.fd >= 0 {
		_ = unix.EpollCtl(s.re.epfd, unix.EPOLL_CTL_ADD, s.fd, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: s.id})
	}
}

// binding is a channel from a peer: the channel number and the client it goes to.
type binding struct {
	channel uint16
	client  unix.RawSockaddrInet4
}

type slowPacket struct {
	b    []byte
	from netip.AddrPort
}

// rawSocket is a relay socket read by a reactor.
type rawSocket struct {
	mu   sync.RWMutex // held for reading while the descriptor is used, for writing to close it
	fd   int          // -1 once closed
	port uint16
	id   int32
	re   *reactor
	rc   *relayConn

	bindMu   sync.Mutex
	bindings atomic.Pointer[map[netip.AddrPort]binding] // copied on write: read per packet

	// Packets for pion's reader. The queue grows only while pion is behind (the moments
	// before a channel is bound, typically), up to slowQueue packets.
	slowMu    sync.Mutex
	slow      []slowPacket
	slowWake  chan struct{} // one pending wake-up for the reader
	closed    chan struct{}
	closeOnce sync.Once
}

// pushSlow queues a copy of a packet for pion's reader, or drops it when the queue is full.
func (s *rawSocket) pushSlow(b []byte, from netip.AddrPort) {
	s.slowMu.Lock()
	if len(s.slow) >= slowQueue {
		s.slowMu.Unlock()
		return
	}
	s.slow = append(s.slow, slowPacket{b: append([]byte(nil), b...), from: from})
	s.slowMu.Unlock()
	select {
	case s.slowWake <- struct{}{}:
	default:
	}
}

// bind records the channel pion bound from peer, for the client at client.
func (s *rawSocket) bind(peer, client netip.AddrPort, channel uint16) {
	if !client.Addr().Unmap().Is4() {
		return
	}
	b := binding{channel: channel, client: rawAddr(client)}
	s.bindMu.Lock()
	defer s.bindMu.Unlock()
	old := *s.bindings.Load()
	m := make(map[netip.AddrPort]binding, len(old)+1)
	for k, v := range old {
		m[k] = v
	}
	m[unmapAP(peer)] = b
	s.bindings.Store(&m)
}

// unbind forgets the channel from peer.
func (s *rawSocket) unbind(peer netip.AddrPort) {
	s.bindMu.Lock()
	defer s.bindMu.Unlock()
	old := *s.bindings.Load()
	m := make(map[netip.AddrPort]binding, len(old))
	for k, v := range old {
		if k != unmapAP(peer) {
			m[k] = v
		}
	}
	s.bindings.Store(&m)
}

// readSlow returns the next packet that pion must handle.
func (s *rawSocket) readSlow(p []byte) (int, netip.AddrPort, error) {
	for {
		s.slowMu.Lock()
		if len(s.slow) > 0 {
			pk := s.slow[0]
			s.slow[0] = slowPacket{}
			s.slow = s.slow[1:]
			if len(s.slow) == 0 {
				s.slow = nil // let the backing array go
			}
			s.slowMu.Unlock()
			return copy(p, pk.b), pk.from, nil
		}
		s.slowMu.Unlock()
		select {
		case <-s.slowWake:
		case <-s.closed:
			return 0, netip.AddrPort{}, net.ErrClosed
		}
	}
}

// writeTo sends p to a peer (client → peer, for pion).
func (s *rawSocket) writeTo(p []byte, to netip.AddrPort) (int, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.fd < 0 {
		return 0, net.ErrClosed
	}
	ip := to.Addr().Unmap()
	if !ip.Is4() {
		return 0, errFamily
	}
	if err := unix.Sendto(s.fd, p, 0, &unix.SockaddrInet4{Port: int(to.Port()), Addr: ip.As4()}); err != nil {
		return 0, err
	}
	return len(p), nil
}

// close closes the descriptor (which also takes it out of its reactor's epoll set) and ends
// pion's reader.
func (s *rawSocket) close() error {
	var err error
	s.closeOnce.Do(func() {
		s.mu.Lock()
		err = unix.Close(s.fd)
		s.fd = -1
		s.mu.Unlock()
		close(s.closed)
		if s.re != nil {
			s.re.mu.Lock()
			delete(s.re.socks, s.id)
			s.re.mu.Unlock()
		}
	})
	return err
}

// reactor waits on its relay sockets and relays what they receive.
type reactor struct {
	epfd, out int
	epf       *os.File // epfd as Go's poller sees it
	mu        sync.Mutex
	socks     map[int32]*rawSocket
	stopped   atomic.Bool
	done      chan struct{}

	// The batch, owned by the reactor's goroutine: slots [0, n) are ChannelData packets to
	// send; recvmmsg fills slots from n on, payload at offset 4.
	n    int
	bufs [fastBatch][]byte
	lens [fastBatch]int
	dst  [fastBatch]unix.RawSockaddrInet4
	from [fastBatch]unix.RawSockaddrInet4
	hdrs [fastBatch]unix.Mmsghdr
	iovs [fastBatch]unix.Iovec
}

func newReactor(out int) (*reactor, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	// Non-blocking, so that os.NewFile hands it to Go's poller.
	if err := unix.SetNonblock(epfd, true); err != nil {
		unix.Close(epfd)
		return nil, err
	}
	re := &reactor{epfd: epfd, epf: os.NewFile(uintptr(epfd), "turn-reactor"), out: out,
		socks: make(map[int32]*rawSocket), done: make(chan struct{})}
	for i := range re.bufs {
		re.bufs[i] = make([]byte, 4+fastMTU+3)
	}
	return re, nil
}

// stop ends the reactor (closing the epoll file wakes it), waits for it and closes its
// descriptors.
func (re *reactor) stop() {
	if re.stopped.Swap(true) {
		return
	}
	re.epf.Close()
	<-re.done
	unix.Close(re.out)
}

// run waits for ready relay sockets through Go's poller: the epoll descriptor itself is
// readable while any of its sockets is, so the reactor is a goroutine parked like any
// network reader, and one wake-up serves every socket that became ready meanwhile.
func (re *reactor) run() {
	defer close(re.done)
	rc, err := re.epf.SyscallConn()
	if err != nil {
		return
	}
	events := make([]unix.EpollEvent, 128)
	_ = rc.Read(func(uintptr) bool {
		for !re.stopped.Load() {
			k, err := unix.EpollWait(re.epfd, events, 0)
			if err != nil && !errors.Is(err, unix.EINTR) {
				return true
			}
			if k <= 0 {
				re.flush()
				return false // nothing ready: park until the poller says so
			}
			for _, ev := range events[:k] {
				re.mu.Lock()
				s := re.socks[ev.Fd]
				re.mu.Unlock()
				if s != nil {
					re.drain(s)
				}
			}
		}
		return true
	})
}

// drain reads what s has queued, a few batches at most so that one busy socket cannot
// starve the others (epoll reports it again), and queues ChannelData for the clients.
func (re *reactor) drain(s *rawSocket) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.fd < 0 {
		return
	}
	bindings := *s.bindings.Load()
	for round := 0; round < 4; round++ {
		if re.n == fastBatch {
			re.flush()
		}
		free := fastBatch - re.n
		for i := re.n; i < fastBatch; i++ {
			re.iovs[i].Base = &re.bufs[i][4]
			re.iovs[i].SetLen(fastMTU)
			h := &re.hdrs[i].Hdr
			h.Name = (*byte)(unsafe.Pointer(&re.from[i]))
			h.Namelen = unix.SizeofSockaddrInet4
			h.Iov = &re.iovs[i]
			h.SetIovlen(1)
			h.Control, h.Controllen, h.Flags = nil, 0, 0
		}
		got, err := mmsg(unix.SYS_RECVMMSG, s.fd, re.hdrs[re.n:], unix.MSG_DONTWAIT)
		if err != nil || got <= 0 {
			return
		}
		w := re.n
		for i := re.n; i < re.n+got; i++ {
			n := int(re.hdrs[i].Len)
			peer := apOf(&re.from[i])
			if re.hdrs[i].Hdr.Flags&unix.MSG_TRUNC != 0 || !s.rc.r.peerOK(peer) {
				continue
			}
			b, ok := bindings[peer]
			if !ok {
				// No channel: pion sends a Data indication, if a permission allows it.
				s.pushSlow(re.bufs[i][4:4+n], peer)
				continue
			}
			if i != w {
				re.bufs[i], re.bufs[w] = re.bufs[w], re.bufs[i]
			}
			buf := re.bufs[w]
			buf[0], buf[1] = byte(b.channel>>8), byte(b.channel)
			buf[2], buf[3] = byte(n>>8), byte(n)
			size := 4 + n
			for size%4 != 0 { // pad as pion does: over UDP it is optional, and harmless
				buf[size] = 0
				size++
			}
			re.lens[w], re.dst[w] = size, b.client
			s.rc.toClientPackets.Add(1)
			s.rc.toClientBytes.Add(uint64(n)) //nolint:gosec // n >= 0
			w++
		}
		re.n = w
		if got < free {
			return
		}
	}
}

// flush sends the queued ChannelData packets. A full send buffer drops the rest, as a
// congested UDP path would.
func (re *reactor) flush() {
	if re.n == 0 {
		return
	}
	for i := 0; i < re.n; i++ {
		re.iovs[i].Base = &re.bufs[i][0]
		re.iovs[i].SetLen(re.lens[i])
		h := &re.hdrs[i].Hdr
		h.Name = (*byte)(unsafe.Pointer(&re.dst[i]))
		h.Namelen = unix.SizeofSockaddrInet4
		h.Iov = &re.iovs[i]
		h.SetIovlen(1)
		h.Control, h.Controllen, h.Flags = nil, 0, 0
	}
	for off := 0; off < re.n; {
		k, err := mmsg(unix.SYS_SENDMMSG, re.out, re.hdrs[off:re.n], 0)
		if err != nil || k <= 0 {
			break
		}
		off += k
	}
	re.n = 0
}

// mmsg calls recvmmsg or sendmmsg on fd with msgs. Both sockets are non-blocking, so the
// call cannot block and needs no hand-off of the scheduler's processor.
func mmsg(trap uintptr, fd int, msgs []unix.Mmsghdr, flags int) (int, error) {
	n, _, errno := unix.RawSyscall6(trap, uintptr(fd), uintptr(unsafe.Pointer(&msgs[0])), uintptr(len(msgs)), uintptr(flags), 0, 0)
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}

// apOf reads a sockaddr_in (port in network order).
func apOf(sa *unix.RawSockaddrInet4) netip.AddrPort {
	p := (*[2]byte)(unsafe.Pointer(&sa.Port))
	return netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), uint16(p[0])<<8|uint16(p[1]))
}

// rawAddr makes a sockaddr_in for an IPv4 address.
func rawAddr(ap netip.AddrPort) unix.RawSockaddrInet4 {
	sa := unix.RawSockaddrInet4{Family: unix.AF_INET, Addr: ap.Addr().Unmap().As4()}
	p := (*[2]byte)(unsafe.Pointer(&sa.Port))
	p[0], p[1] = byte(ap.Port()>>8), byte(ap.Port())
	return sa
}

func unmapAP(ap netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}
