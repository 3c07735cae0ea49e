package relay

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/duet-rtc/duet/internal/codecs"
	"github.com/duet-rtc/duet/protocol"
)

// The forwarding benchmark runs the relay in a process of its own (this test binary,
// re-executed with relayProcEnv set) so that its CPU time can be read from /proc apart from
// the load generator's. Signalling is a small HTTP API on loopback; media is loopback UDP.

const relayProcEnv = "DUET_RELAY_BENCH_PROC"

func TestMain(m *testing.M) {
	if os.Getenv(relayProcEnv) == "1" {
		serveRelayProc()
		return
	}
	os.Exit(m.Run())
}

type offerReq struct {
	Call   string `json:"call"`
	Side   Side   `json:"side"`
	Device string `json:"device"`
	SDP    string `json:"sdp"`
}

type offerResp struct {
	SDP        string                  `json:"sdp"`
	Candidates []protocol.ICECandidate `json:"candidates"`
}

// serveRelayProc is the relay process: POST /offer answers an audio-only call's leg (the
// callee device "b" is the answering one), GET /stats returns the counters, stdin closing
// ends it.
func serveRelayProc() {
	if n := envInt("DUET_RELAY_PROCS", 0); n > 0 {
		runtime.GOMAXPROCS(n) // the relay process's alone: the generator keeps its own
	}
	if os.Getenv("DUET_RELAY_BASELINE") == "pion" {
		servePionProc()
		return
	}
	cfg := Config{LoopbackOnly: true, Readers: envInt("DUET_RELAY_READERS", 1)}
	if port := envInt("DUET_RELAY_PORT", 0); port > 0 {
		cfg.PortMin, cfg.PortMax = uint16(port), uint16(port) // a fixed port (default: any)
	}
	r, err := New(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if path := os.Getenv("DUET_RELAY_PROFILE"); path != "" {
		if f, err := os.Create(path); err == nil {
			_ = pprof.StartCPUProfile(f)
			defer pprof.StopCPUProfile()
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /offer", func(w http.ResponseWriter, req *http.Request) {
		var o offerReq
		if err := json.NewDecoder(req.Body).Decode(&o); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		c, _, err := r.Open(o.Call, CallConfig{Audio: true, Video: true, Active: func() string { return "b" }})
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		var mu sync.Mutex
		var cands []protocol.ICECandidate
		ans, err := c.Offer(o.Side, o.Device, protocol.SessionDescription{Type: "offer", SDP: o.SDP}, LegEvents{
			OnCandidate: func(ci protocol.ICECandidate) { mu.Lock(); cands = append(cands, ci); mu.Unlock() },
		})
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		time.Sleep(200 * time.Millisecond) // loopback host candidates gather at once
		mu.Lock()
		defer mu.Unlock()
		json.NewEncoder(w).Encode(offerResp{SDP: ans.SDP, Candidates: cands})
	})
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, _ *http.Request) { json.NewEncoder(w).Encode(r.Stats()) })
	fmt.Println(ln.Addr().String())
	go http.Serve(ln, mux)
	io.Copy(io.Discard, os.Stdin) // the parent closes stdin (or dies): stop
	r.Close()
}

// servePionProc is serveRelayProc for the baseline: pion's own forwarding path.
func servePionProc() {
	f, err := newPionForwarder()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	mux := http.NewServeMux()
	f.routes(mux)
	fmt.Println(ln.Addr().String())
	go http.Serve(ln, mux)
	io.Copy(io.Discard, os.Stdin)
	f.close()
}

// cpuTicks returns a process's user+system CPU time.
func cpuTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond, nil // USER_HZ is 100 on Linux
}

// genPeer is a load-generator peer: one audio track out, counting what comes in. No
// interceptors: the generator should cost as little as possible.
type genPeer struct {
	pc       *webrtc.PeerConnection
	track    *webrtc.TrackLocalStaticRTP
	received atomic.Int64
}

func newGenAPI() *webrtc.API {
	me := &webrtc.MediaEngine{}
	_ = me.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: opusFmtp},
		PayloadType:        opusPayloadType,
	}, webrtc.RTPCodecTypeAudio)
	se := webrtc.SettingEngine{}
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	return webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithSettingEngine(se))
}

func dialRelay(b *testing.B, api *webrtc.API, base, call string, side Side, dev string) *genPeer {
	b.Helper()
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		b.Fatal(err)
	}
	g := &genPeer{pc: pc}
	g.track, _ = webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "audio", "gen")
	if _, err := pc.AddTransceiverFromTrack(g.track, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendrecv}); err != nil {
		b.Fatal(err)
	}
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		buf := make([]byte, 1500)
		for {
			if _, _, err := tr.Read(buf); err != nil {
				return
			}
			g.received.Add(1)
		}
	})
	offer, _ := pc.CreateOffer(nil)
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		b.Fatal(err)
	}
	<-gathered
	body, _ := json.Marshal(offerReq{Call: call, Side: side, Device: dev, SDP: pc.LocalDescription().SDP})
	resp, err := http.Post(base+"/offer", "application/json", bytes.NewReader(body))
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	var ans offerResp
	if err := json.NewDecoder(resp.Body).Decode(&ans); err != nil {
		b.Fatal(err)
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: ans.SDP}); err != nil {
		b.Fatal(err)
	}
	for _, c := range ans.Candidates {
		_ = pc.AddICECandidate(webrtc.ICECandidateInit{Candidate: c.Candidate, SDPMid: c.SDPMid, SDPMLineIndex: c.SDPMLineIndex})
	}
	return g
}

// BenchmarkRelayForwarding measures the relay's forwarding: calls concurrent audio calls
// (DUET_RELAY_CALLS, default 20), each party sending 160-byte packets at rate packets/s
// (DUET_RELAY_PPS per direction, default 1000) for DUET_RELAY_SECONDS (default 5 s). It
// reports forwarded packets/s, the relay process's CPU, packets/s per core and loss.
// DUET_RELAY_PORT fixes the relay's UDP port (default any); DUET_RELAY_READERS sets
// Config.Readers; DUET_RELAY_PROCS sets the relay process's GOMAXPROCS.
//
//	go test -run '^$' -bench RelayForwarding -benchtime 1x ./server/media/relay/
func BenchmarkRelayForwarding(b *testing.B) {
	calls := envInt("DUET_RELAY_CALLS", 20)
	rate := envInt("DUET_RELAY_PPS", 1000)
	secs := envInt("DUET_RELAY_SECONDS", 5)
	base, pid, stop := startRelayProc(b)
	defer stop()

	api := newGenAPI()
	type pair struct{ a, z *genPeer }
	pairs := make([]pair, calls)
	var peers []*genPeer
	for i := range pairs {
		id := "call-" + strconv.Itoa(i)
		pairs[i] = pair{dialRelay(b, api, base, id, Caller, "a"), dialRelay(b, api, base, id, Callee, "b")}
		peers = append(peers, pairs[i].a, pairs[i].z)
	}
	deadline := time.Now().Add(30 * time.Second)
	for _, p := range peers {
		for p.pc.ConnectionState() != webrtc.PeerConnectionStateConnected {
			if time.Now().After(deadline) {
				b.Fatal("generator peers did not connect")
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	time.Sleep(300 * time.Millisecond)
	b.ResetTimer()
	cpu0, _ := cpuTime(pid)
	t0 := time.Now()
	var sent atomic.Int64
	var wg sync.WaitGroup
	// One sender goroutine per peer, writing a burst every 10 ms.
	payload := make([]byte, 160)
	perTick := max(1, rate/100)
	for _, p := range peers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pkt := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: opusPayloadType, SSRC: 1}, Payload: payload}
			tick := time.NewTicker(10 * time.Millisecond)
			defer tick.Stop()
			end := t0.Add(time.Duration(secs) * time.Second)
			for now := range tick.C {
				if now.After(end) {
					return
				}
				for range perTick {
					pkt.SequenceNumber++
					pkt.Timestamp += 960
					if p.track.WriteRTP(pkt) == nil {
						sent.Add(1)
					}
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(t0)
	cpu1, _ := cpuTime(pid)
	time.Sleep(500 * time.Millisecond) // packets in flight
	var received int64
	for _, p := range peers {
		received += p.received.Load()
	}
	b.StopTimer()
	cpu := (cpu1 - cpu0).Seconds() / elapsed.Seconds()
	pps := float64(received) / elapsed.Seconds()
	loss := 1 - float64(received)/float64(sent.Load())
	b.ReportMetric(pps, "fwd-pps")
	b.ReportMetric(cpu*100, "relay-cpu-%")
	if cpu > 0 {
		b.ReportMetric(pps/cpu, "pps/core")
	}
	b.ReportMetric(loss*100, "loss-%")
	b.Logf("%d calls, %d pps per direction: sent %d, received %d in %v; relay CPU %.0f%% of a core; %.0f pps/core; loss %.3f%%",
		calls, rate, sent.Load(), received, elapsed.Round(time.Millisecond), cpu*100, pps/cpu, loss*100)
	for _, p := range peers {
		p.pc.Close()
	}
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// Opus as the SDK and Chrome send it, for the tests' bare pion peers.
const (
	opusPayloadType = codecs.OpusPayloadType
	opusFmtp        = codecs.OpusFmtp
)
