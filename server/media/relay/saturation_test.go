package relay

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/dtls/v3"
	"github.com/pion/dtls/v3/pkg/crypto/selfsign"
	dtlsnet "github.com/pion/dtls/v3/pkg/net"
	"github.com/pion/ice/v4"
	"github.com/pion/logging"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/srtp/v3"

	"github.com/duet-rtc/duet/internal/codecs"
	"github.com/duet-rtc/duet/internal/udpbatch"
)

// BenchmarkRelaySaturation finds the highest rate the relay forwards at under 0.1 % loss.
// The relay runs in a process of its own (serveRelayProc), its CPU read from /proc. The
// generator is this process: each leg is set up once (an ICE agent and a DTLS client, the
// keys from the DTLS exporter), after which it sends raw SRTP from its own UDP socket with
// sendmmsg, cycling through packets it sealed at setup (ringSize), and counts the RTP the relay forwards to it
// without opening it. Both parties of each call send at the same rate.
//
// It offers rates in steps (DUET_SAT_START packets/s in total, default 20,000, times 1.25
// each step, DUET_SAT_STEP_SECONDS each, default 2) until loss reaches 0.1 % or the
// generator falls behind its schedule, and reports the last rate under 0.1 % loss, the
// relay's CPU there and its packets per second per core. DUET_SAT_SIZE is the RTP payload
// (default 1100: video-sized, sent as VP8 on the video stream; ≤ 200 is sent as Opus on the
// audio stream), DUET_SAT_CALLS the calls (default 10). DUET_RELAY_PROCS sets the relay
// process's GOMAXPROCS.
//
// The sub-benchmark "pion" runs the same generator against the baseline in the same run:
// pion's own forwarding path (pionbaseline_test.go: a PeerConnection per leg with the
// default interceptors, ReadRTP → TrackLocalStaticRTP.Write), which records nothing.
//
//	go test -run '^$' -bench RelaySaturation -benchtime 1x ./server/media/relay/
//	DUET_SAT_SIZE=160 go test -run '^$' -bench RelaySaturation -benchtime 1x ./server/media/relay/
func BenchmarkRelaySaturation(b *testing.B) {
	b.Run("relay", func(b *testing.B) { saturate(b) })
	b.Run("pion", func(b *testing.B) { saturate(b, "DUET_RELAY_BASELINE=pion") })
}

// saturate runs the saturation search against a relay process started with env.
func saturate(b *testing.B, env ...string) {
	size := envInt("DUET_SAT_SIZE", 1100)
	calls := envInt("DUET_SAT_CALLS", 10)
	step := time.Duration(envInt("DUET_SAT_STEP_SECONDS", 2)) * time.Second
	rate := float64(envInt("DUET_SAT_START", 20000))

	base, pid, stop := startRelayProc(b, env...)
	defer stop()
	cert, err := selfsign.GenerateSelfSigned()
	if err != nil {
		b.Fatal(err)
	}
	var legs []*rawLeg
	for i := range calls {
		id := "sat-" + strconv.Itoa(i)
		for _, side := range []Side{Caller, Callee} {
			l, err := dialRaw(base, id, side, cert, size)
			if err != nil {
				b.Fatal(err)
			}
			defer l.close()
			legs = append(legs, l)
		}
	}
	b.ResetTimer()
	type result struct{ offered, sent, fwd, cpu, loss float64 }
	var best *result
	for {
		r := runStep(base, legs, rate, step, pid)
		b.Logf("offered %.0f pps: sent %.0f/s, forwarded %.0f/s, loss %.3f%% (%.3f%% never read by the relay), relay CPU %.0f%% of a core (%.0f pps/core)",
			rate, r.sent, r.fwd, r.loss*100, (1-r.relayIn)*100, r.cpu*100, r.fwd/r.cpu)
		if r.loss >= 0.001 {
			b.Logf("loss reached 0.1%% at %.0f pps sent", r.sent)
			break
		}
		if best != nil && r.sent < 1.05*best.sent {
			b.Logf("the generator sent no more at %.0f pps offered (%.0f): it, not the relay, is the limit here", rate, r.sent)
			break
		}
		best = &result{offered: rate, sent: r.sent, fwd: r.fwd, cpu: r.cpu, loss: r.loss}
		rate = max(rate, r.sent) * 1.25
	}
	b.StopTimer()
	if best == nil {
		b.Fatalf("loss ≥ 0.1 %% already at %.0f pps", rate)
	}
	b.ReportMetric(best.fwd, "fwd-pps")
	b.ReportMetric(best.cpu*100, "relay-cpu-%")
	b.ReportMetric(best.fwd/best.cpu, "pps/core")
	b.ReportMetric(best.cpu/best.fwd*1e6, "relay-µs/pkt")
	b.ReportMetric(best.loss*100, "loss-%")
	b.Logf("%d-byte payloads, %d calls: highest rate under 0.1%% loss %.0f pps forwarded, relay %.0f%% of a core, %.0f pps per core, %.2f µs of relay CPU per packet",
		size, calls, best.fwd, best.cpu*100, best.fwd/best.cpu, best.cpu/best.fwd*1e6)
}

type stepResult struct{ sent, fwd, cpu, loss, relayIn float64 }

// relayStats reads the relay process's counters.
func relayStats(base string) Stats {
	var st Stats
	if resp, err := http.Get(base + "/stats"); err == nil {
		_ = json.NewDecoder(resp.Body).Decode(&st)
		resp.Body.Close()
	}
	return st
}

// runStep sends at rate packets/s in total, spread evenly over legs, for d, from two
// goroutines, in bursts every 2 ms, and measures what the relay forwarded and its CPU.
func runStep(base string, legs []*rawLeg, rate float64, d time.Duration, pid int) stepResult {
	in0 := relayStats(base).PacketsIn
	var recv0 int64
	for _, l := range legs {
		recv0 += l.received.Load()
	}
	cpu0, _ := cpuTime(pid)
	t0 := time.Now()
	var sent atomic.Int64
	var wg sync.WaitGroup
	const senders = 2
	for g := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mine := legs[g*len(legs)/senders : (g+1)*len(legs)/senders]
			perLeg := rate / float64(len(legs))
			done := make([]int64, len(mine))
			// Every 2 ms each leg sends what is due as one sendmmsg: per-packet system
			// calls would make the generator the bottleneck.
			for {
				el := time.Since(t0)
				if el >= d {
					return
				}
				for i, l := range mine {
					due := int64(perLeg*el.Seconds()) - done[i]
					for range due {
						if l.queue() {
							sent.Add(1)
						}
					}
					done[i] += due
					_ = l.conn.Flush()
				}
				time.Sleep(2 * time.Millisecond)
			}
		}()
	}
	wg.Wait()
	el := time.Since(t0)
	cpu1, _ := cpuTime(pid)
	time.Sleep(300 * time.Millisecond) // in flight
	var recv1 int64
	for _, l := range legs {
		recv1 += l.received.Load()
	}
	s, r := float64(sent.Load()), float64(recv1-recv0)
	in := float64(relayStats(base).PacketsIn - in0)
	return stepResult{sent: s / el.Seconds(), fwd: r / el.Seconds(), cpu: (cpu1 - cpu0).Seconds() / el.Seconds(), loss: 1 - r/s, relayIn: in / s}
}

// startRelayProc runs serveRelayProc in a child process (with env added to its
// environment) and returns its base URL and pid.
func startRelayProc(b *testing.B, env ...string) (base string, pid int, stop func()) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(append(os.Environ(), relayProcEnv+"=1"), env...)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		b.Fatal(err)
	}
	return "http://" + strings.TrimSpace(line), cmd.Process.Pid, func() { stdin.Close(); _ = cmd.Wait() }
}

// rawLeg is one generator leg: its own UDP socket, keyed once, then raw SRTP.
type rawLeg struct {
	sock     *udpbatch.Conn
	conn     *udpbatch.Conn // = sock; sends are queued on it and flushed per tick
	pc       *genPacketConn
	agent    *ice.Agent
	mux      *ice.UDPMuxDefault
	dconn    *dtls.Conn
	srtp     *srtp.Context
	relay    netip.AddrPort
	pkt      rtp.Packet
	ring     [][]byte // sealed packets, sent in turn
	next     int
	received atomic.Int64
}

// ringSize is how many sealed packets each generator leg cycles through. The relay does not
// replay-check the RTP devices send (dtls.go says why), so a packet sent again is
// forwarded again, with the same work (open, rewrite, seal, send): sealing once at setup
// leaves the generator only its system calls.
const ringSize = 512

// seal fills the leg's ring with sealed packets of size bytes of payload.
func (l *rawLeg) seal(size int) error {
	payload := make([]byte, size)
	raw := make([]byte, size+64)
	for range ringSize {
		l.pkt.SequenceNumber++
		l.pkt.Timestamp += 960
		l.pkt.Payload = payload
		n, err := l.pkt.MarshalTo(raw)
		if err != nil {
			return err
		}
		sealed, err := l.srtp.EncryptRTP(nil, raw[:n], nil)
		if err != nil {
			return err
		}
		l.ring = append(l.ring, sealed)
	}
	return nil
}

// queue queues the leg's next packet on its socket.
func (l *rawLeg) queue() bool {
	l.next++
	return l.conn.QueueToAddrPort(l.ring[l.next%ringSize], l.relay) == nil
}

func (l *rawLeg) close() {
	if l.dconn != nil {
		_ = l.dconn.Close()
	}
	if l.agent != nil {
		_ = l.agent.Close()
	}
	_ = l.mux.Close()
	_ = l.pc.Close()
}

// genPacketConn is a generator leg's socket as ICE's UDP mux sees it: its reader counts the
// RTP the relay forwards and passes everything else (STUN, DTLS) on.
type genPacketConn struct {
	*udpbatch.Conn
	leg    *rawLeg
	toICE  chan datagram
	closed chan struct{}
	once   sync.Once
}

func (c *genPacketConn) read() {
	buf := make([]byte, maxDatagram)
	for {
		n, from, err := c.Conn.ReadFromAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		if isSRTP(buf[:n]) {
			if !isRTCP(buf[:n]) {
				c.leg.received.Add(1)
			}
			continue
		}
		select {
		case c.toICE <- datagram{b: append([]byte(nil), buf[:n]...), from: from}:
		default:
		}
	}
}

// ReadFromAddrPort (which ICE's mux prefers to ReadFrom) returns the next datagram for ICE.
func (c *genPacketConn) ReadFromAddrPort(b []byte) (int, netip.AddrPort, error) {
	select {
	case d := <-c.toICE:
		return copy(b, d.b), d.from, nil
	case <-c.closed:
		return 0, netip.AddrPort{}, net.ErrClosed
	}
}

func (c *genPacketConn) ReadFrom(b []byte) (int, net.Addr, error) {
	n, from, err := c.ReadFromAddrPort(b)
	if err != nil {
		return 0, nil, err
	}
	return n, net.UDPAddrFromAddrPort(from), nil
}

func (c *genPacketConn) Close() error {
	c.once.Do(func() { close(c.closed); _ = c.Conn.Close() })
	return nil
}

func (c *genPacketConn) SetReadDeadline(time.Time) error { return nil }

// dialRaw sets up one generator leg against the relay process: offer, ICE, DTLS, keys.
func dialRaw(base, call string, side Side, cert tls.Certificate, size int) (*rawLeg, error) {
	video := size > 200
	uc, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, err
	}
	_ = uc.SetReadBuffer(muxSocketBuffer)
	_ = uc.SetWriteBuffer(muxSocketBuffer)
	sock := udpbatch.New(uc)
	l := &rawLeg{sock: sock, conn: sock}
	l.pc = &genPacketConn{Conn: sock, leg: l, toICE: make(chan datagram, 64), closed: make(chan struct{})}
	go l.pc.read()
	loopback := func(ip net.IP) bool { return ip.IsLoopback() }
	l.mux = ice.NewUDPMuxDefault(ice.UDPMuxParams{UDPConn: l.pc, Logger: logging.NewDefaultLoggerFactory().NewLogger("gen")})
	l.agent, err = ice.NewAgentWithOptions(
		ice.WithUDPMux(l.mux),
		ice.WithNetworkTypes([]ice.NetworkType{ice.NetworkTypeUDP4}), ice.WithIncludeLoopback(),
		ice.WithIPFilter(loopback), ice.WithCandidateTypes([]ice.CandidateType{ice.CandidateTypeHost}),
		ice.WithMulticastDNSMode(ice.MulticastDNSModeDisabled))
	if err != nil {
		return nil, err
	}
	ufrag, pwd, _ := l.agent.GetLocalUserCredentials()
	aSSRC, vSSRC := rand.Uint32()|1, rand.Uint32()|1
	fp := fingerprintOf(sha256.New, cert.Certificate[0])
	offer := fmt.Sprintf("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1\r\n"+
		"m=audio 9 UDP/TLS/RTP/SAVPF %[1]d\r\nc=IN IP4 0.0.0.0\r\na=ice-ufrag:%[3]s\r\na=ice-pwd:%[4]s\r\na=fingerprint:sha-256 %[5]s\r\n"+
		"a=setup:actpass\r\na=mid:0\r\na=sendrecv\r\na=rtcp-mux\r\na=rtpmap:%[1]d opus/48000/2\r\na=ssrc:%[6]d cname:gen\r\n"+
		"m=video 9 UDP/TLS/RTP/SAVPF %[2]d\r\nc=IN IP4 0.0.0.0\r\na=ice-ufrag:%[3]s\r\na=ice-pwd:%[4]s\r\na=fingerprint:sha-256 %[5]s\r\n"+
		"a=setup:actpass\r\na=mid:1\r\na=sendrecv\r\na=rtcp-mux\r\na=rtpmap:%[2]d VP8/90000\r\na=ssrc:%[7]d cname:gen\r\n",
		codecs.OpusPayloadType, codecs.VP8PayloadType, ufrag, pwd, fp, aSSRC, vSSRC)
	body, _ := json.Marshal(offerReq{Call: call, Side: side, Device: map[Side]string{Caller: "a", Callee: "b"}[side], SDP: offer})
	resp, err := http.Post(base+"/offer", "application/json", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("offer: %s", resp.Status)
	}
	var ans offerResp
	if err := json.NewDecoder(resp.Body).Decode(&ans); err != nil {
		return nil, err
	}
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(ans.SDP); err != nil || len(sd.MediaDescriptions) == 0 {
		return nil, fmt.Errorf("answer: %v", err)
	}
	rufrag, _ := sd.MediaDescriptions[0].Attribute("ice-ufrag")
	rpwd, _ := sd.MediaDescriptions[0].Attribute("ice-pwd")
	// The relay learns the generator's address from its checks (peer reflexive): no
	// candidates are sent to it.
	if err := l.agent.OnCandidate(func(ice.Candidate) {}); err != nil {
		return nil, err
	}
	if err := l.agent.GatherCandidates(); err != nil {
		return nil, err
	}
	for _, c := range ans.Candidates {
		cand, err := ice.UnmarshalCandidate(strings.TrimPrefix(c.Candidate, "candidate:"))
		if err == nil {
			_ = l.agent.AddRemoteCandidate(cand)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ic, err := l.agent.Dial(ctx, rufrag, rpwd)
	if err != nil {
		return nil, fmt.Errorf("ice: %w", err)
	}
	l.dconn, err = dtls.ClientWithOptions(dtlsnet.PacketConnFromConn(ic), ic.RemoteAddr(),
		dtls.WithCertificates(cert), dtls.WithInsecureSkipVerify(true),
		dtls.WithSRTPProtectionProfiles(dtls.SRTP_AEAD_AES_128_GCM),
		dtls.WithExtendedMasterSecret(dtls.RequireExtendedMasterSecret))
	if err != nil {
		return nil, err
	}
	if err := l.dconn.HandshakeContext(ctx); err != nil {
		return nil, fmt.Errorf("dtls: %w", err)
	}
	state, _ := l.dconn.ConnectionState()
	cfg := srtp.Config{Profile: srtp.ProtectionProfileAeadAes128Gcm}
	if err := cfg.ExtractSessionKeysFromDTLS(&state, true); err != nil {
		return nil, err
	}
	if l.srtp, err = srtp.CreateContext(cfg.Keys.LocalMasterKey, cfg.Keys.LocalMasterSalt, cfg.Profile); err != nil {
		return nil, err
	}
	ra, ok := ic.RemoteAddr().(*net.UDPAddr)
	if !ok {
		return nil, errors.New("ice: no remote address")
	}
	l.relay = ra.AddrPort()
	l.pkt.Header = rtp.Header{Version: 2, PayloadType: codecs.OpusPayloadType, SSRC: aSSRC}
	if video {
		l.pkt.Header.PayloadType, l.pkt.Header.SSRC = codecs.VP8PayloadType, vSSRC
	}
	return l, l.seal(size)
}
