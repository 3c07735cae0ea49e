package turn

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	pionturn "github.com/pion/turn/v5"
)

// Errors of relay allocation. pion answers both with 508 (Insufficient Capacity).
var (
	errQuota     = errors.New("turn: allocation quota reached")
	errNoTCP     = errors.New("turn: TCP relays are not offered")
	errFamily    = errors.New("turn: relay address family not offered")
	errPortRange = errors.New("turn: requested port outside the relay range")
	errStopped   = errors.New("turn: server stopped")
)

// relays makes the relay sockets (it is pion's RelayAddressGenerator), counts them per user
// for the quota, knows which ports are live for the peer policy, and sums their traffic.
type relays struct {
	relayIP    net.IP
	publicIP   net.IP
	relayIPs   []netip.Addr // addresses a relay socket is seen at: bound and announced
	portMin    uint16
	portMax    uint16
	maxPerUser int
	policy     PeerPolicy
	buffer     int

	mu      sync.RWMutex
	live    map[uint16]*relayConn
	perUser map[string]int
	stopped bool
	done    counters // traffic of closed relays

	readers sync.WaitGroup // one per relay socket whose reader has not yet seen it closed

	fast *fastPath // nil where relays are plain sockets that pion reads
}

// counters count relayed traffic: to the client (from a peer) and to a peer.
type counters struct {
	toClientPackets, toClientBytes atomic.Uint64
	toPeerPackets, toPeerBytes     atomic.Uint64
}

func (c *counters) add(o *counters) {
	c.toClientPackets.Add(o.toClientPackets.Load())
	c.toClientBytes.Add(o.toClientBytes.Load())
	c.toPeerPackets.Add(o.toPeerPackets.Load())
	c.toPeerBytes.Add(o.toPeerBytes.Load())
}

func newRelays(cfg Config) *relays {
	return &relays{
		relayIP: cfg.RelayIP, publicIP: cfg.PublicIP, relayIPs: cfg.relayAddrs(),
		portMin: cfg.RelayPortMin, portMax: cfg.RelayPortMax,
		maxPerUser: cfg.MaxAllocationsPerUser, policy: cfg.Peers, buffer: cfg.SocketBuffer,
		live: make(map[uint16]*relayConn), perUser: make(map[string]int),
	}
}

// Validate is part of pion's RelayAddressGenerator.
func (r *relays) Validate() error { return nil }

// AllocatePacketConn binds a relay socket for an allocation of conf.UserID, counting it
// against the user's quota until it is closed.
func (r *relays) AllocatePacketConn(conf pionturn.AllocateListenerConfig) (net.PacketConn, net.Addr, error) {
	want4 := r.relayIP.To4() != nil
	if (conf.Network == "udp4") != want4 || (conf.Network != "udp4" && conf.Network != "udp6") {
		return nil, nil, errFamily
	}
	if err := r.reserve(conf.UserID); err != nil {
		return nil, nil, err
	}
	rc := &relayConn{r: r, user: conf.UserID}
	var err error
	if r.fast != nil {
		rc.raw, err = bindPort(r, conf.RequestedPort, func(port int) (*rawSocket, error) {
			return r.fast.listen(r.relayIP, port, r.buffer)
		})
		if err == nil {
			rc.port = rc.raw.port
		}
	} else {
		rc.udp, err = bindPort(r, conf.RequestedPort, func(port int) (*net.UDPConn, error) {
			return net.ListenUDP(conf.Network, &net.UDPAddr{IP: r.relayIP, Port: port})
		})
		if err == nil {
			_ = rc.udp.SetReadBuffer(r.buffer)
			_ = rc.udp.SetWriteBuffer(r.buffer)
			rc.port = uint16(rc.udp.LocalAddr().(*net.UDPAddr).Port) //nolint:gosec // a port fits
		}
	}
	if err != nil {
		r.unreserve(conf.UserID)
		return nil, nil, err
	}
	r.mu.Lock()
	if r.stopped {
		r.mu.Unlock()
		_ = rc.closeSocket()
		r.unreserve(conf.UserID)
		return nil, nil, errStopped
	}
	r.live[rc.port] = rc
	r.readers.Add(1)
	r.mu.Unlock()
	if rc.raw != nil {
		r.fast.add(rc)
	}
	return rc, &net.UDPAddr{IP: r.publicIP, Port: int(rc.port)}, nil
}

// AllocateListener refuses TCP relays (RFC 6062).
func (r *relays) AllocateListener(pionturn.AllocateListenerConfig) (net.Listener, net.Addr, error) {
	return nil, nil, errNoTCP
}

// AllocateConn refuses TCP relays (RFC 6062).
func (r *relays) AllocateConn(pionturn.AllocateConnConfig) (net.Conn, error) {
	return nil, errNoTCP
}

// bindPort opens a relay socket with listen: on the requested port (EVEN-PORT and
// RESERVATION-TOKEN ask for one) if it is in range, else on a random port of the range, or
// on any port when there is no range.
func bindPort[T any](r *relays, requested int, listen func(port int) (T, error)) (T, error) {
	var zero T
	if requested != 0 {
		if r.portMin != 0 && (requested < int(r.portMin) || requested > int(r.portMax)) {
			return zero, errPortRange
		}
		return listen(requested)
	}
	if r.portMin == 0 {
		return listen(0)
	}
	span := int(r.portMax) - int(r.portMin) + 1
	start := rand.IntN(span) //nolint:gosec // spreading ports needs no secrecy
	var err error
	// Random start, then linear: a nearly full range still finds its free ports, and a
	// bounded number of binds keeps a full one cheap to refuse.
	for i := 0; i < span && i < 64; i++ {
		var c T
		if c, err = listen(int(r.portMin) + (start+i)%span); err == nil {
			return c, nil
		}
	}
	return zero, fmt.Errorf("turn: no free relay port: %w", err)
}

// reserve counts one more allocation for user, or refuses it over the quota. pion probes
// ports for EVEN-PORT with an empty user and closes them at once: those are not counted.
func (r *relays) reserve(user string) error {
	if user == "" {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.perUser[user] >= r.maxPerUser {
		return errQuota
	}
	r.perUser[user]++
	return nil
}

func (r *relays) unreserve(user string) {
	if user == "" {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.unreserveLocked(user)
}

func (r *relays) unreserveLocked(user string) {
	if n := r.perUser[user] - 1; n > 0 {
		r.perUser[user] = n
	} else {
		delete(r.perUser, user)
	}
}

// underQuota is pion's QuotaHandler: it lets pion answer 486 (Allocation Quota Reached)
// before binding anything. reserve enforces the quota again, atomically.
func (r *relays) underQuota(user string) bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.perUser[user] < r.maxPerUser
}

// count returns the live allocations of user.
func (r *relays) count(user string) int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.perUser[user]
}

// traffic is a snapshot of counters.
type traffic struct{ toClientPackets, toClientBytes, toPeerPackets, toPeerBytes uint64 }

func (t *traffic) add(c *counters) {
	t.toClientPackets += c.toClientPackets.Load()
	t.toClientBytes += c.toClientBytes.Load()
	t.toPeerPackets += c.toPeerPackets.Load()
	t.toPeerBytes += c.toPeerBytes.Load()
}

// total returns the traffic of every relay, live or closed.
func (r *relays) total() (t traffic) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	t.add(&r.done)
	for _, rc := range r.live {
		t.add(&rc.counters)
	}
	return t
}

// permits is pion's PermissionHandler: whether a client may install a permission (and so
// exchange packets) with peerIP.
func (r *relays) permits(_ net.Addr, peerIP net.IP) bool {
	ip := netipOf(peerIP)
	return r.policy.Allows(ip) || r.isRelayIP(ip)
}

func (r *relays) isRelayIP(ip netip.Addr) bool {
	for _, a := range r.relayIPs {
		if a == ip {
			return true
		}
	}
	return false
}

// peerOK is the per-packet check behind permits: a peer at one of the relay IPs that the
// policy does not allow outright must be one of this server's live relays, never another
// service on that address (the TURN listener itself, say).
func (r *relays) peerOK(ap netip.AddrPort) bool {
	ip := ap.Addr().Unmap()
	if !r.isRelayIP(ip) || r.policy.explicitly(ip) {
		return true // the permission pion checked covers it
	}
	r.mu.RLock()
	_, ok := r.live[ap.Port()]
	r.mu.RUnlock()
	return ok
}

// channel tells the fast path about a channel pion bound (on) or dropped, from the
// allocation at relayAddr to peer. Only clients on a UDP listener are relayed by the fast
// path: a TCP client's packets must go through pion's connection.
func (r *relays) channel(client, listener, relayAddr, peer net.Addr, on bool, number uint16) {
	if r.fast == nil {
		return
	}
	c, ok1 := client.(*net.UDPAddr)
	_, ok2 := listener.(*net.UDPAddr)
	ra, ok3 := relayAddr.(*net.UDPAddr)
	pa, ok4 := peer.(*net.UDPAddr)
	if !ok1 || !ok2 || !ok3 || !ok4 {
		return
	}
	r.mu.RLock()
	rc := r.live[uint16(ra.Port)] //nolint:gosec // a port fits
	r.mu.RUnlock()
	if rc == nil || rc.raw == nil {
		return
	}
	if on {
		rc.raw.bind(pa.AddrPort(), c.AddrPort(), number)
	} else {
		rc.raw.unbind(pa.AddrPort())
	}
}

// stop refuses new relays; the caller then has pion close the live ones.
func (r *relays) stop() {
	r.mu.Lock()
	r.stopped = true
	r.mu.Unlock()
}

// closeAll closes whatever relay pion left open (it closes its own at shutdown; this only
// makes sure no socket or reader outlives the server).
func (r *relays) closeAll() {
	r.mu.RLock()
	var open []*relayConn
	for _, rc := range r.live {
		open = append(open, rc)
	}
	r.mu.RUnlock()
	for _, rc := range open {
		rc.Close()
	}
}

// relayConn is one allocation's relay socket, as pion reads and writes it. It is either a
// plain socket that pion's reader reads (udp), or, where the fast path runs, a socket that a
// reactor reads (raw): packets from peers with a channel go straight to the client from
// there, and only the rest reach pion's reader, through slow.
type relayConn struct {
	r    *relays
	user string
	port uint16
	udp  *net.UDPConn
	raw  *rawSocket
	counters

	closeOnce  sync.Once
	readerOnce sync.Once
	reading    atomic.Bool
}

// ReadFrom returns the next packet from an allowed peer that pion must handle.
func (c *relayConn) ReadFrom(p []byte) (int, net.Addr, error) {
	c.reading.Store(true)
	for {
		var n int
		var ap netip.AddrPort
		var err error
		if c.raw != nil {
			n, ap, err = c.raw.readSlow(p)
		} else {
			n, ap, err = c.udp.ReadFromUDPAddrPort(p)
		}
		if err != nil {
			c.readerOnce.Do(c.r.readers.Done)
			return n, nil, err
		}
		if !c.r.peerOK(ap) {
			continue
		}
		c.toClientPackets.Add(1)
		c.toClientBytes.Add(uint64(n)) //nolint:gosec // n >= 0
		return n, net.UDPAddrFromAddrPort(ap), nil
	}
}

// WriteTo sends p to an allowed peer.
func (c *relayConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	ua, ok := addr.(*net.UDPAddr)
	if !ok {
		return 0, errFamily
	}
	ap := ua.AddrPort()
	if !c.r.peerOK(ap) {
		return 0, fmt.Errorf("turn: peer %v refused", addr)
	}
	var n int
	var err error
	if c.raw != nil {
		n, err = c.raw.writeTo(p, ap)
	} else {
		n, err = c.udp.WriteToUDPAddrPort(p, ap)
	}
	if err == nil {
		c.toPeerPackets.Add(1)
		c.toPeerBytes.Add(uint64(n)) //nolint:gosec // n >= 0
	}
	return n, err
}

// LocalAddr is the relay socket's bound address.
func (c *relayConn) LocalAddr() net.Addr { return &net.UDPAddr{IP: c.r.relayIP, Port: int(c.port)} }

// SetDeadline and friends are part of net.PacketConn; pion sets none on relays.
func (c *relayConn) SetDeadline(time.Time) error      { return nil }
func (c *relayConn) SetReadDeadline(time.Time) error  { return nil }
func (c *relayConn) SetWriteDeadline(time.Time) error { return nil }

func (c *relayConn) closeSocket() error {
	if c.raw != nil {
		return c.raw.close()
	}
	return c.udp.Close()
}

// Close closes the socket and gives its quota and port back.
func (c *relayConn) Close() error {
	var err error
	c.closeOnce.Do(func() {
		err = c.closeSocket()
		r := c.r
		r.mu.Lock()
		if r.live[c.port] == c {
			delete(r.live, c.port)
		}
		r.unreserveLocked(c.user)
		r.done.add(&c.counters)
		r.mu.Unlock()
		// A socket pion never read (a port probe for EVEN-PORT) has no reader to wait for;
		// one whose reader starts later finds it closed at once.
		if !c.reading.Load() {
			c.readerOnce.Do(r.readers.Done)
		}
	})
	return err
}
