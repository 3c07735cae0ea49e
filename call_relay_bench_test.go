package duet_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/duet-rtc/duet"
	"github.com/duet-rtc/duet/media"
)

// procCPU returns a process's user+system CPU time from /proc.
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond
}

// BenchmarkRecordedCallCPU measures the server's CPU per recorded 1v1 video call, for two
// media profiles in the same run: a `duet server` process (built from ./cmd/duet, media
// relay on loopback) and DUET_REC_CALLS (default 8) concurrent recorded calls between SDK
// clients in this process, each party sending the test media (Opus 24 kbit/s and VP8 30 fps
// at 320x240 300 kbit/s, or at 640x480 1 Mbit/s), for DUET_REC_SECONDS (default 10) after
// every call is accepted. The server's CPU is read from
// /proc over that window; merging is off (it runs after the calls). DUET_REC_RELAY_PORTS
// sets --relay-ports (default a free port found here); DUET_REC_SERVER_PROCS sets
// GOMAXPROCS of the server process alone.
//
//	go test -run '^$' -bench RecordedCallCPU -benchtime 1x .
func BenchmarkRecordedCallCPU(b *testing.B) {
	for _, p := range []struct{ name, ivf string }{
		{"320x240-300kbps", testIVF},
		{"640x480-1Mbps", "testdata/media/pattern-640x480.ivf"},
	} {
		b.Run(p.name, func(b *testing.B) { recordedCallCPU(b, p.ivf) })
	}
}

func recordedCallCPU(b *testing.B, ivf string) {
	calls := benchEnv("DUET_REC_CALLS", 8)
	secs := benchEnv("DUET_REC_SECONDS", 10)
	dir := b.TempDir()
	bin := filepath.Join(dir, "duet")
	if out, err := exec.Command("go", "build", "-o", bin, "./cmd/duet").CombinedOutput(); err != nil {
		b.Fatalf("build: %v %s", err, out)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	// The relay's port: DUET_REC_RELAY_PORTS, default a free one.
	ports := os.Getenv("DUET_REC_RELAY_PORTS")
	if ports == "" {
		u, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		p := u.LocalAddr().(*net.UDPAddr).Port
		u.Close()
		ports = fmt.Sprintf("%d-%d", p, p)
	}
	srv := exec.Command(bin, "server", "--addr", addr, "--data", filepath.Join(dir, "data"), "--media-loopback",
		"--ffmpeg", "none", "--log-level", "error", "--relay-ports", ports)
	srv.Env = append(os.Environ(), "DUET_TURN_ADDR=", "DUET_SIGNUP_BURST=-1") // 2 users a call, one address
	if p := os.Getenv("DUET_REC_SERVER_PROCS"); p != "" {
		srv.Env = append(srv.Env, "GOMAXPROCS="+p) // the server process only
	}
	out, _ := srv.StdoutPipe()
	if err := srv.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { srv.Process.Kill(); srv.Wait() }()
	sc := bufio.NewScanner(out)
	var appKey string
	for sc.Scan() {
		if _, key, ok := strings.Cut(sc.Text(), "appkey "); ok {
			appKey = key
			break
		}
	}
	go func() {
		for sc.Scan() {
		}
	}()
	url := "http://" + addr
	for deadline := time.Now().Add(30 * time.Second); ; {
		resp, err := http.Get(url + "/healthz")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("server did not come up: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}

	type party struct {
		c   *duet.Client
		rec *recorder
	}
	// Every party counts the payload bytes it receives, so that the report shows the media
	// really flowed at full rate through the window (a starved machine sends less, and a
	// server forwarding less looks cheaper per call).
	var received atomic.Int64
	counter := countingSink{&received}
	newParty := func(name string) party {
		c, err := duet.NewClient(duet.Options{AppKey: appKey, ServerURL: url, ICE: duet.ICEOptions{LoopbackOnly: true}})
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := c.Register(ctx, name, "pw"); err != nil && duet.ErrorCodeOf(err) != duet.ErrorUserAlreadyExist {
			b.Fatal(err)
		}
		rec := newRecorder()
		c.CallManager().AddDelegate(rec, nil)
		c.CallManager().SetMediaOptions(duet.MediaOptions{
			AudioSource: func(*duet.CallSession) (media.Source, error) { return media.OpenOgg(testOgg) },
			VideoSource: func(*duet.CallSession) (media.Source, error) { return media.OpenIVF(ivf) },
			RemoteSinks: func(*duet.CallSession) (media.Sink, media.Sink) { return counter, counter },
		})
		if err := c.Login(ctx, name, "pw"); err != nil {
			b.Fatal(err)
		}
		return party{c, rec}
	}
	var callers, callees []party
	for i := range calls {
		callers = append(callers, newParty(fmt.Sprintf("caller%d", i)))
		callees = append(callees, newParty(fmt.Sprintf("callee%d", i)))
	}
	defer func() {
		for _, p := range append(callers, callees...) {
			p.c.Close()
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for i := range calls {
		if _, err := callers[i].c.CallManager().StartCall(ctx, duet.CallTypeVideo, fmt.Sprintf("callee%d", i), "", duet.WithRecord(false)); err != nil {
			b.Fatal(err)
		}
		in := callees[i].rec.wait(b, "receive").session
		callees[i].rec.wait(b, "connect")
		if err := callees[i].c.CallManager().AnswerIncomingCall(ctx, in.CallID()); err != nil {
			b.Fatal(err)
		}
		callers[i].rec.wait(b, "accept")
	}
	time.Sleep(time.Second) // every sender past its first keyframe
	b.ResetTimer()
	cpu0 := procCPU(srv.Process.Pid)
	bytes0 := received.Load()
	t0 := time.Now()
	time.Sleep(time.Duration(secs) * time.Second)
	cpu := procCPU(srv.Process.Pid) - cpu0
	elapsed := time.Since(t0)
	kbps := float64(received.Load()-bytes0) * 8 / 1000 / elapsed.Seconds() / float64(2*calls)
	b.StopTimer()
	share := cpu.Seconds() / elapsed.Seconds()
	b.ReportMetric(share*100, "server-cpu-%")
	b.ReportMetric(share*100/float64(calls), "cpu-%-per-call")
	b.ReportMetric(kbps, "recv-kbps-per-party")
	b.Logf("%d recorded video calls for %v: server CPU %.1f%% of a core, %.2f%% per call; each party received %.0f kbit/s of payload",
		calls, elapsed.Round(time.Millisecond), share*100, share*100/float64(calls), kbps)
}

// countingSink counts the payload bytes written to it.
type countingSink struct{ n *atomic.Int64 }

func (c countingSink) WriteRTP(p *rtp.Packet) error { c.n.Add(int64(len(p.Payload))); return nil }
func (c countingSink) Close() error                 { return nil }

func benchEnv(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}
