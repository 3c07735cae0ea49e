package relay

import (
	"errors"
	"net/netip"
	"sync"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
)

// The packet path. Every leg shares the relay's UDP sockets (socket.go), each read by a
// goroutine of its own, which hands pion what pion needs (STUN and DTLS) and keeps SRTP and
// SRTCP (first byte 128–191, RFC 7983) for the relay: it finds the leg by the datagram's
// source address, unprotects it with the leg's keys, rewrites it for the other
// party's leg, protects it with that leg's keys and queues it on the socket, all on the
// goroutine that read it. A read batch's forwards leave in one sendmmsg when the batch is
// used up. Nothing is handed from one goroutine to another on the way: with pion's own
// path a packet crossed four (mux, ICE, SRTP session, track reader) before it reached the
// relay.
//
// RTCP is not terminated but forwarded, with the SSRCs mapped between the legs: sender
// reports, receiver reports, NACKs and REMB travel end to end, so the senders see the
// receivers' loss, round trip and bandwidth estimate, and retransmit what the receivers
// miss. PLI and FIR become the relay's own throttled PLI to the sender.

// errNoPath: the leg's ICE pair or keys are not known yet.
var errNoPath = errors.New("relay: leg not connected")

// errHeld: a packet is kept until the leg has keys (held.go).
var errHeld = errors.New("relay: held until the leg has keys")

// router finds the leg a datagram came from.
type router struct {
	mu    sync.RWMutex
	legs  map[netip.AddrPort]*leg
	conns []*mediaConn // one per local address
}

func (rt *router) lookup(addr netip.AddrPort) *leg {
	rt.mu.RLock()
	defer rt.mu.RUnlock()
	return rt.legs[addr]
}

// move routes to, instead of from (if valid), to l: a leg whose ICE pair changed.
func (rt *router) move(from, to netip.AddrPort, l *leg) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if from != to && rt.legs[from] == l {
		delete(rt.legs, from)
	}
	rt.legs[to] = l
}

// remove forgets addr if it routes to l.
func (rt *router) remove(addr netip.AddrPort, l *leg) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.legs[addr] == l {
		delete(rt.legs, addr)
	}
}

// sockFor returns a socket bound to local, or to the first address. The leg then moves to
// the socket its media arrives on (arrivedOn).
func (rt *router) sockFor(local netip.Addr) *mediaSocket {
	rt.mu.RLock()
	defer rt.mu.RUnlock()
	for _, c := range rt.conns {
		if c.local == local.Unmap() {
			return c.socks[0]
		}
	}
	if len(rt.conns) > 0 {
		return rt.conns[0].socks[0]
	}
	return nil
}

// scratch holds one datagram's working buffers.
type scratch struct {
	plain, out, sealed []byte
	pkt                rtp.Packet
	hdr                rtp.Header // srtp's, reused so that it allocates none
}

func newScratch() scratch {
	return scratch{plain: make([]byte, 0, 1500), out: make([]byte, 1500), sealed: make([]byte, 0, 1600)}
}

// isSRTP reports whether a datagram is RTP or RTCP by its first byte (RFC 7983).
func isSRTP(b []byte) bool { return len(b) >= 12 && b[0] >= 128 && b[0] <= 191 }

// isRTCP tells RTCP from RTP by the payload type byte (RFC 5761 §4).
func isRTCP(b []byte) bool { return b[1] >= 192 && b[1] <= 223 }

// receive handles one SRTP or SRTCP datagram from the leg's device.
func (l *leg) receive(m *mediaSocket, b []byte) {
	if !isSRTP(b) {
		return
	}
	l.rmu.Lock()
	defer l.rmu.Unlock()
	if l.closed.Load() {
		return
	}
	if l.remote == nil {
		l.keepEarly(b)
		return
	}
	if len(l.early) > 0 {
		early := l.early
		l.early = nil
		for _, e := range early {
			l.dispatch(m, e)
		}
	}
	l.dispatch(m, b)
}

// dispatch handles an SRTP or SRTCP datagram from the device; the caller holds rmu and
// the leg has keys.
func (l *leg) dispatch(m *mediaSocket, b []byte) {
	if isRTCP(b) {
		l.receiveRTCP(m, b)
		return
	}
	l.receiveRTP(m, b)
}

// maxEarly bounds the datagrams a leg keeps from its device before it has keys.
const maxEarly = 64

// keepEarly keeps a copy of a datagram the device sent before the leg has keys: its DTLS
// handshake is done, as the device knows, before pion tells the relay so (see held.go), and
// the device's first keyframe may come in between. The next datagram after the keys came
// takes them through the packet path first. The caller holds rmu.
func (l *leg) keepEarly(b []byte) {
	if len(l.early) < maxEarly {
		l.early = append(l.early, append([]byte(nil), b...))
	}
}

// arrivedOn notes the socket an authentic datagram from the device arrived on: when it is
// another of the relay's addresses than its ICE pair named (a NAT 1:1 public address names
// no local one), the relay answers from where the device reaches it.
func (l *leg) arrivedOn(m *mediaSocket) {
	if p := l.path.Load(); p != nil && p.sock != m {
		l.path.Store(&path{sock: m, addr: p.addr})
	}
}

// receiveRTP forwards one media packet to the other party's active leg and shows it to the
// Tap. Header extensions are dropped: their ids were negotiated on this leg and may mean
// something else on the other.
func (l *leg) receiveRTP(m *mediaSocket, b []byte) {
	st := &l.c.r.stats
	sc := &m.scratch
	plain, err := l.remote.DecryptRTP(sc.plain[:0], b, &sc.hdr)
	if err != nil {
		st.dropped.Add(1) // forged, replayed or sent before the keys matched
		return
	}
	l.arrivedOn(m)
	pkt := &sc.pkt
	if err := pkt.Unmarshal(plain); err != nil || pkt.PayloadType >= 128 || l.kindOfPT[pkt.PayloadType] < 0 {
		st.dropped.Add(1)
		return
	}
	k := Kind(l.kindOfPT[pkt.PayloadType])
	if l.inSSRC[k].Load() != pkt.SSRC {
		l.inSSRC[k].Store(pkt.SSRC)
	}
	st.packetsIn.Add(1)
	st.bytesIn.Add(uint64(len(pkt.Payload)))
	var dst *leg
	if l.c.isActive(l) {
		dst = l.c.target(l.side)
	}
	if dst == nil {
		// Not answered yet (a caller's warm-up video), or not this leg: nowhere to go, not
		// even to the Tap. A keyframe run is kept in case the answer comes in a moment.
		st.dropped.Add(1)
		if k == Video {
			l.unsent.add(pkt.Payload, plain, time.Now())
		}
		return
	}
	if len(l.unsent.pkts) > 0 {
		l.forwardUnsent(m, dst)
	}
	l.forward(m, dst, k, pkt)
}

// forward sends pkt, of kind k, to dst and shows it to the Tap.
func (l *leg) forward(m *mediaSocket, dst *leg, k Kind, pkt *rtp.Packet) {
	st := &l.c.r.stats
	pkt.Header.Extension = false
	pkt.Header.Extensions = pkt.Header.Extensions[:0]
	if dst.sendRTP(m, k, pkt) {
		st.packetsOut.Add(1)
	} else {
		st.writeErrors.Add(1)
	}
	if tap := l.c.cfg.Tap; tap != nil {
		tap.RTP(l.side, k, pkt, time.Now())
	}
}

// forwardUnsent forwards the video kept while l's packets had nowhere to go (held.go).
func (l *leg) forwardUnsent(m *mediaSocket, dst *leg) {
	for _, plain := range l.unsent.take(time.Now()) {
		var pkt rtp.Packet
		if pkt.Unmarshal(plain) == nil {
			l.c.r.stats.unsent.Add(1)
			l.forward(m, dst, Video, &pkt)
		}
	}
}

// sendRTP sends pkt to the device as the relay's stream of kind k; pkt is left as it was.
// From the socket that read it, it is queued for the end of the read batch.
func (l *leg) sendRTP(from *mediaSocket, k Kind, pkt *rtp.Packet) bool {
	ssrc, pt := l.outSSRC[k].Load(), l.outPT[k].Load()
	if ssrc == 0 {
		return false
	}
	sc := &from.scratch
	origSSRC, origPT := pkt.SSRC, pkt.PayloadType
	pkt.SSRC, pkt.PayloadType = ssrc, uint8(pt)
	n, err := pkt.MarshalTo(sc.out)
	pkt.SSRC, pkt.PayloadType = origSSRC, origPT
	if err != nil {
		return false
	}
	sealed, err := l.sealRTP(k, pkt.Payload, sc.out[:n], sc)
	if errors.Is(err, errHeld) {
		return true
	}
	p := l.path.Load()
	if err != nil || p == nil {
		return false
	}
	if p.sock == from {
		return p.sock.QueueToAddrPort(sealed, p.addr) == nil
	}
	_, err = p.sock.WriteToAddrPort(sealed, p.addr)
	return err == nil
}

// receiveRTCP forwards a compound RTCP packet's reports and feedback to the other party
// and turns keyframe requests into the relay's own.
func (l *leg) receiveRTCP(m *mediaSocket, b []byte) {
	plain, err := l.remote.DecryptRTCP(nil, b, nil)
	if err != nil {
		return
	}
	l.arrivedOn(m)
	pkts, err := rtcp.Unmarshal(plain)
	if err != nil || !l.c.isActive(l) {
		return
	}
	dst := l.c.target(l.side)
	tap := l.c.cfg.Tap
	fwd := pkts[:0]
	for _, p := range pkts {
		switch p := p.(type) {
		case *rtcp.SenderReport:
			if k, ok := l.kindOfSSRC(p.SSRC); ok && tap != nil {
				tap.SenderReport(l.side, k, p, time.Now())
			}
			if dst != nil {
				p.SSRC = mapSSRC(l, dst, p.SSRC)
				mapReports(l, dst, p.Reports)
				fwd = append(fwd, p)
			}
		case *rtcp.ReceiverReport:
			if dst != nil {
				p.SSRC = mapSSRC(l, dst, p.SSRC)
				mapReports(l, dst, p.Reports)
				fwd = append(fwd, p)
			}
		case *rtcp.TransportLayerNack:
			if dst != nil {
				p.SenderSSRC, p.MediaSSRC = mapSSRC(l, dst, p.SenderSSRC), mapSSRC(l, dst, p.MediaSSRC)
				fwd = append(fwd, p)
			}
		case *rtcp.ReceiverEstimatedMaximumBitrate:
			if dst != nil {
				p.SenderSSRC = mapSSRC(l, dst, p.SenderSSRC)
				for i, s := range p.SSRCs {
					p.SSRCs[i] = mapSSRC(l, dst, s)
				}
				fwd = append(fwd, p)
			}
		case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
			if dst != nil {
				dst.requestKeyframe(true)
			}
		}
	}
	if dst != nil && len(fwd) > 0 {
		_ = dst.sendRTCP(fwd)
	}
}

// sealRTP protects plain, the relay's RTP of kind k carrying payload, for the device. Before
// the leg has keys it returns errNoPath, or errHeld for video kept until they come.
func (l *leg) sealRTP(k Kind, payload, plain []byte, sc *scratch) ([]byte, error) {
	l.wmu.Lock()
	defer l.wmu.Unlock()
	if l.local == nil {
		if k != Video {
			return nil, errNoPath
		}
		l.held.add(payload, plain)
		if len(l.held.pkts) == 0 {
			return nil, errNoPath
		}
		return nil, errHeld
	}
	return l.local.EncryptRTP(sc.sealed[:0], plain, &sc.hdr)
}

// seal runs protect with the leg's outgoing SRTP context, which is not safe for concurrent
// use; errNoPath before the keys are known.
func (l *leg) seal(protect func(*srtp.Context) ([]byte, error)) ([]byte, error) {
	l.wmu.Lock()
	defer l.wmu.Unlock()
	if l.local == nil {
		return nil, errNoPath
	}
	return protect(l.local)
}

// sendRTCP protects and sends RTCP to the device.
func (l *leg) sendRTCP(pkts []rtcp.Packet) error {
	p := l.path.Load()
	if p == nil {
		return errNoPath
	}
	raw, err := rtcp.Marshal(pkts)
	if err != nil {
		return err
	}
	sealed, err := l.seal(func(local *srtp.Context) ([]byte, error) { return local.EncryptRTCP(nil, raw, nil) })
	if err != nil {
		return err
	}
	_, err = p.sock.WriteToAddrPort(sealed, p.addr)
	return err
}

// kindOfSSRC tells which of the device's streams ssrc is.
func (l *leg) kindOfSSRC(ssrc uint32) (Kind, bool) {
	for k := range 2 {
		if ssrc != 0 && l.inSSRC[k].Load() == ssrc {
			return Kind(k), true
		}
	}
	return 0, false
}

// mapSSRC translates an SSRC in RTCP from leg from into what it is called on leg to: the
// relay's stream on from carries to's device media and the other way round. SSRCs it does
// not know pass unchanged.
func mapSSRC(from, to *leg, ssrc uint32) uint32 {
	if ssrc == 0 {
		return 0
	}
	for k := range 2 {
		if from.outSSRC[k].Load() == ssrc {
			if s := to.inSSRC[k].Load(); s != 0 {
				return s
			}
		}
		if from.inSSRC[k].Load() == ssrc {
			if s := to.outSSRC[k].Load(); s != 0 {
				return s
			}
		}
	}
	return ssrc
}

func mapReports(from, to *leg, reports []rtcp.ReceptionReport) {
	for i := range reports {
		reports[i].SSRC = mapSSRC(from, to, reports[i].SSRC)
	}
}
