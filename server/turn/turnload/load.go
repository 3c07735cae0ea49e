// Package turnload measures a TURN server's relay throughput: it opens allocations with
// pion's TURN client, binds a channel from each to a peer socket of its own, has the peers
// send fixed-size packets through the relays at a target rate, and counts what the clients
// receive. Credentials are made from the server's shared secret in duet's format, which
// coturn's static-auth-secret accepts as well, so the same load runs against both.
//
// Everything is bounded: a run has a fixed duration, and Load only talks to the server
// address it is given (loopback in this project's benchmarks).
package turnload

import (
	"context"
	"crypto/hmac"
	"crypto/sha1" //nolint:gosec // the TURN REST API's HMAC
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/logging"
	pionturn "github.com/pion/turn/v5"
	"golang.org/x/net/ipv4"

	"github.com/duet-rtc/duet/server/turn"
)

// Config describes the load.
type Config struct {
	// ServerAddr is the TURN server's UDP address, host:port.
	ServerAddr string
	// Secret is the server's shared secret (duet's turn-secret, coturn's static-auth-secret).
	Secret []byte
	// Realm is the server's realm; default "duet".
	Realm string
	// Allocations is how many allocations carry the load; default 10.
	Allocations int
	// PacketSize is the payload size of each packet; default 160 (20 ms of Opus at 64 kbit/s
	// with RTP headers).
	PacketSize int
	// LocalIP is the address of the clients and peers; default 127.0.0.1.
	LocalIP net.IP
}

// Result is one measured run.
type Result struct {
	PPS      int           // the target rate, packets per second over all allocations
	Sent     uint64        // packets the peers sent
	Received uint64        // packets the clients received through the relays
	Duration time.Duration // how long the peers sent
	// ServerCPU is the server process's CPU time during the run divided by Duration (1.0 =
	// one core busy), when a PID was given; else -1.
	ServerCPU float64
}

// Loss is the fraction of sent packets that did not arrive.
func (r Result) Loss() float64 {
	if r.Sent == 0 {
		return 0
	}
	if r.Received >= r.Sent {
		return 0
	}
	return float64(r.Sent-r.Received) / float64(r.Sent)
}

// SentPPS is the rate the peers actually achieved.
func (r Result) SentPPS() float64 { return float64(r.Sent) / r.Duration.Seconds() }

// magic marks load packets, so that the clients count them without parsing anything else.
const magic = 0x4455_4554 // "DUET"

// Load is a set of allocations ready to carry traffic.
type Load struct {
	cfg    Config
	peers  []*net.UDPConn
	allocs []*alloc
}

type alloc struct {
	client *pionturn.Client
	conn   *countingConn
	relay  net.PacketConn
	peer   *net.UDPConn // one of Load.peers
	to     *net.UDPAddr // the relay address, where the peer sends
	sent   uint64
	wake   uint64 // sent at the sender's last wake-up
}

// senders is how many goroutines, each with a peer socket of its own, send the load. Each
// sends to its share of the relays in batches (sendmmsg), so that the generator costs as
// little as it can next to the server on the same cores.
const senders = 2

// Open makes the allocations and binds their channels. Close releases them.
func Open(ctx context.Context, cfg Config) (*Load, error) {
	if cfg.Realm == "" {
		cfg.Realm = "duet"
	}
	if cfg.Allocations <= 0 {
		cfg.Allocations = 10
	}
	if cfg.PacketSize < 16 {
		cfg.PacketSize = 160
	}
	if cfg.LocalIP == nil {
		cfg.LocalIP = net.IPv4(127, 0, 0, 1)
	}
	l := &Load{cfg: cfg}
	for range senders {
		peer, err := net.ListenUDP("udp4", &net.UDPAddr{IP: cfg.LocalIP})
		if err != nil {
			l.Close()
			return nil, err
		}
		_ = peer.SetWriteBuffer(4 << 20)
		l.peers = append(l.peers, peer)
	}
	for i := range cfg.Allocations {
		a, err := l.open(i)
		if err != nil {
			l.Close()
			return nil, fmt.Errorf("allocation %d: %w", i, err)
		}
		l.allocs = append(l.allocs, a)
	}
	if err := l.bindChannels(ctx); err != nil {
		l.Close()
		return nil, err
	}
	return l, nil
}

// credential makes a duet-format credential for user i, valid 9 minutes (within duet's
// default TTL of 10, which duet's server also enforces as an upper bound).
func (l *Load) credential(i int) (string, string) {
	name := fmt.Sprintf("%d:bench#turn:u%d:bench", time.Now().Add(9*time.Minute).Unix(), i)
	mac := hmac.New(sha1.New, l.cfg.Secret)
	mac.Write([]byte(name))
	return name, base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

func (l *Load) open(i int) (*alloc, error) {
	udp, err := net.ListenUDP("udp4", &net.UDPAddr{IP: l.cfg.LocalIP})
	if err != nil {
		return nil, err
	}
	// The load generator must not be where packets drop.
	_ = udp.SetReadBuffer(4 << 20)
	conn := newCountingConn(udp)
	name, pw := l.credential(i)
	lf := logging.NewDefaultLoggerFactory()
	lf.Writer = io.Discard
	client, err := pionturn.NewClient(&pionturn.ClientConfig{
		STUNServerAddr: l.cfg.ServerAddr, TURNServerAddr: l.cfg.ServerAddr, Conn: conn,
		Username: name, Password: pw, Realm: l.cfg.Realm, LoggerFactory: lf,
	})
	if err != nil {
		udp.Close()
		return nil, err
	}
	if err := client.Listen(); err != nil {
		client.Close()
		udp.Close()
		return nil, err
	}
	relay, err := client.Allocate()
	if err != nil {
		client.Close()
		udp.Close()
		return nil, err
	}
	peer := l.peers[i%senders]
	// Whatever the relay delivers as Data indications (before the channel is bound) is not
	// load: drain it.
	go func() {
		buf := make([]byte, 2048)
		for {
			if _, _, err := relay.ReadFrom(buf); err != nil {
				return
			}
		}
	}()
	return &alloc{client: client, conn: conn, relay: relay, peer: peer, to: relay.LocalAddr().(*net.UDPAddr)}, nil
}

// bindChannels has each client send to its peer (which installs the permission and binds a
// channel) until packets from every peer come back as ChannelData.
func (l *Load) bindChannels(ctx context.Context) error {
	deadline := time.Now().Add(10 * time.Second)
	pkt := make([]byte, l.cfg.PacketSize)
	for {
		pending := 0
		for i, a := range l.allocs {
			if a.conn.received.Load() > 0 {
				continue
			}
			pending++
			if _, err := a.relay.WriteTo([]byte("hello"), a.peer.LocalAddr()); err != nil {
				return fmt.Errorf("client %d to its peer: %w", i, err)
			}
			fill(pkt, i, 0)
			_, _ = a.peer.WriteToUDP(pkt, a.to)
		}
		if pending == 0 {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d channels not bound after 10 s%s", pending, len(l.allocs), l.peerHint())
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return nil
}

// peerHint explains the likeliest reason channels do not bind: the peers sit on loopback or
// a private address, which a TURN server refuses to relay to unless told otherwise (duet's
// server/turn.PeerPolicy; coturn's --allow-loopback-peers and --denied-peer-ip).
func (l *Load) peerHint() string {
	ip, ok := netip.AddrFromSlice(l.peers[0].LocalAddr().(*net.UDPAddr).IP)
	if !ok || (turn.PeerPolicy{}).Allows(ip) {
		return ""
	}
	return fmt.Sprintf(": the peers are at %v, where a TURN server relays only when told to: start duet's with --turn-allow-peers %v/32 (or a network holding it), coturn with --allow-loopback-peers for loopback", ip.Unmap(), ip.Unmap())
}

// fill writes a load packet: magic, allocation index, sequence number.
func fill(pkt []byte, i int, seq uint64) {
	binary.BigEndian.PutUint32(pkt[0:], magic)
	binary.BigEndian.PutUint32(pkt[4:], uint32(i)) //nolint:gosec // few allocations
	binary.BigEndian.PutUint64(pkt[8:], seq)
}

// Run sends pps packets per second, spread evenly over the allocations, for d, waits for
// stragglers, and counts. serverPID > 0 also measures that process's CPU.
func (l *Load) Run(ctx context.Context, pps int, d time.Duration, serverPID int) (Result, error) {
	if pps <= 0 || d <= 0 {
		return Result{}, errors.New("turnload: rate and duration must be positive")
	}
	for _, a := range l.allocs {
		a.conn.received.Store(0)
		a.sent, a.wake = 0, 0
	}
	cpu0, _ := cpuTicks(serverPID)
	start := time.Now()
	// Each sender paces its share of the allocations against the clock: a late wake-up
	// sends what is due, so the average rate holds.
	var wg sync.WaitGroup
	perAlloc := float64(pps) / float64(len(l.allocs))
	var sendErr atomic.Value
	for s := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := l.send(ctx, s, perAlloc, start, d); err != nil {
				sendErr.Store(err)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	cpu1, _ := cpuTicks(serverPID)
	var sent uint64
	for _, a := range l.allocs {
		sent += a.sent
	}
	// Stragglers: wait until everything arrived or nothing more comes.
	var got, last uint64
	for wait := 0; wait < 20; wait++ {
		got = l.received()
		if got >= sent || (wait > 2 && got == last) {
			break
		}
		last = got
		time.Sleep(50 * time.Millisecond)
	}
	res := Result{PPS: pps, Sent: sent, Received: got, Duration: elapsed, ServerCPU: -1}
	if serverPID > 0 && cpu1 >= cpu0 {
		res.ServerCPU = float64(cpu1-cpu0) / clockTicks / elapsed.Seconds()
	}
	if err, _ := sendErr.Load().(error); err != nil {
		return res, fmt.Errorf("turnload: peer send: %w", err)
	}
	return res, ctx.Err()
}

func (l *Load) received() uint64 {
	var n uint64
	for _, a := range l.allocs {
		n += a.conn.received.Load()
	}
	return n
}

// send is sender s: it sends the packets due to allocations s, s+senders, ... from peer
// socket s, many per system call, until d has passed.
func (l *Load) send(ctx context.Context, s int, perAlloc float64, start time.Time, d time.Duration) error {
	pc := ipv4.NewPacketConn(l.peers[s])
	const batch = 64
	msgs := make([]ipv4.Message, batch)
	for k := range msgs {
		msgs[k].Buffers = [][]byte{make([]byte, l.cfg.PacketSize)}
	}
	n := 0
	flush := func() error {
		for off := 0; off < n; {
			k, err := pc.WriteBatch(msgs[off:n], 0)
			if err != nil {
				return err
			}
			off += k
		}
		n = 0
		return nil
	}
	// A sender that was descheduled does not catch up in one burst: at most maxBurst of
	// traffic per wake-up, as packets from real peers would arrive spread out. A machine
	// that cannot generate the rate then shows it as a low sent rate, not as a burst that
	// only tests the server's socket buffers.
	const maxBurst = 2 * time.Millisecond
	burst := uint64(perAlloc*maxBurst.Seconds()) + 1
	for {
		el := time.Since(start)
		done := el >= d
		if done {
			el = d
		}
		due := uint64(perAlloc * el.Seconds())
		// Round-robin over the allocations, one packet each per pass, as independent
		// calls' packets would interleave.
		for more := true; more; {
			more = false
			for i := s; i < len(l.allocs); i += senders {
				a := l.allocs[i]
				if a.sent >= due || a.sent >= a.wake+burst {
					continue
				}
				a.sent++
				more = more || (a.sent < due && a.sent < a.wake+burst)
				fill(msgs[n].Buffers[0], i, a.sent)
				msgs[n].Addr = a.to
				if n++; n == batch {
					if err := flush(); err != nil {
						return err
					}
				}
			}
		}
		if err := flush(); err != nil {
			return err
		}
		if done || ctx.Err() != nil {
			return nil
		}
		for i := s; i < len(l.allocs); i += senders {
			l.allocs[i].wake = l.allocs[i].sent
		}
		time.Sleep(200 * time.Microsecond)
	}
}

// Close releases the allocations and closes every socket.
func (l *Load) Close() {
	for _, a := range l.allocs {
		a.relay.Close()
		a.client.Close()
		a.conn.Close()
	}
	for _, p := range l.peers {
		p.Close()
	}
	l.allocs, l.peers = nil, nil
}
