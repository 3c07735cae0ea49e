package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/duet-rtc/duet/server/recording"
)

// firstRunEnv, when set, tells the test binary that it runs inside the network namespace
// TestFirstRun made: "lan" (loopback plus a LAN-like address on a veth pair) or "lo"
// (loopback only). firstRunBinEnv is the duet binary it runs.
const (
	firstRunEnv    = "DUET_TEST_FIRSTRUN_NETNS"
	firstRunBinEnv = "DUET_TEST_FIRSTRUN_BIN"
)

// TestFirstRun starts `duet server` exactly as the README's quick start does (no flags, no
// DUET_ variables, the data folder in the working directory) and makes a recorded call
// between two `duet call --loopback` clients, as the README shows them plus --record: both
// per-stream recordings must decode with ffmpeg. It runs twice, each time in a network
// namespace of its own (so that the default ports are free and no packet leaves the
// namespace): on a host that also has a non-loopback address, where the relay used to bind
// only that address, and on a host with loopback only, where the server used not to start.
func TestFirstRun(t *testing.T) {
	if mode := os.Getenv(firstRunEnv); mode != "" {
		firstRunInside(t, mode, os.Getenv(firstRunBinEnv))
		return
	}
	if testing.Short() {
		t.Skip("builds the binary and runs processes in network namespaces")
	}
	for _, tool := range []string{"unshare", "ip", "ffmpeg", "ffprobe"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed", tool)
		}
	}
	ns := []string{"unshare", "--net"}
	if os.Getuid() != 0 {
		ns = []string{"unshare", "--user", "--map-root-user", "--net"}
	}
	if out, err := exec.Command(ns[0], append(ns[1:], "true")...).CombinedOutput(); err != nil {
		t.Skipf("this test needs a network namespace of its own, and %q is not permitted here: %v %s", strings.Join(ns, " "), err, out)
	}
	bin := buildDuet(t)
	for _, mode := range []string{"lan", "lo"} {
		t.Run(mode, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			args := append(ns[1:], os.Args[0], "-test.run", "^TestFirstRun$", "-test.v", "-test.count=1")
			cmd := exec.CommandContext(ctx, ns[0], args...)
			cmd.Env = append(os.Environ(), firstRunEnv+"="+mode, firstRunBinEnv+"="+bin)
			out, err := cmd.CombinedOutput()
			if err != nil || !bytes.Contains(out, []byte("--- PASS: TestFirstRun")) {
				t.Fatalf("inside the namespace: %v\n%s", err, out)
			}
			t.Logf("inside the namespace:\n%s", out)
		})
	}
}

// firstRunInside is TestFirstRun inside its network namespace.
func firstRunInside(t *testing.T, mode, bin string) {
	netSetup := [][]string{{"link", "set", "lo", "up"}}
	if mode == "lan" {
		// A veth pair stands for the machine's network card: an address that is not
		// loopback, which is all the relay used to listen on.
		netSetup = append(netSetup,
			[]string{"link", "add", "duet0", "type", "veth", "peer", "name", "duet1"},
			// No IPv6 link-local addresses: they are unusable while duplicate address
			// detection runs, and the test needs no IPv6.
			[]string{"link", "set", "duet0", "addrgenmode", "none"}, []string{"link", "set", "duet1", "addrgenmode", "none"},
			[]string{"addr", "add", "10.213.0.1/24", "dev", "duet0"},
			[]string{"link", "set", "duet0", "up"}, []string{"link", "set", "duet1", "up"})
	}
	for _, args := range netSetup {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v %s", strings.Join(args, " "), err, out)
		}
	}
	dir := t.TempDir()
	env := cleanEnv()
	var serverLog syncBuffer
	srv := exec.Command(bin, "server")
	srv.Dir, srv.Env, srv.Stdout, srv.Stderr = dir, env, &serverLog, &serverLog
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = srv.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = srv.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			_ = srv.Process.Kill()
			<-exited
		}
	})
	const url = "http://127.0.0.1:8080"
	if err := waitUp(url, exited); err != nil {
		t.Fatalf("the default server: %v\n%s", err, serverLog.String())
	}
	warned := strings.Contains(serverLog.String(), "no network address but loopback")
	if warned != (mode == "lo") {
		t.Errorf("loopback-only warning %v on a %q host:\n%s", warned, mode, serverLog.String())
	}

	media := func(name string) string { return filepath.Join(repoRoot(t), "testdata", "media", name) }
	callee := exec.Command(bin, "call", "--register", "--user", "bob", "--password", "pw", "--answer", "--loopback", "--json",
		"--send", media("tone-440.ogg"), "--send", media("bars-160x120.ivf"))
	callee.Dir, callee.Env = dir, env
	if err := callee.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = callee.Process.Kill(); _ = callee.Wait() })
	waitConnections(t, url, 1)
	caller := exec.Command(bin, "call", "--register", "--user", "alice", "--password", "pw", "--to", "bob", "--video",
		"--send", media("pattern-320x240.ivf"), "--send", media("tone-440.ogg"), "--duration", "4s", "--loopback", "--json", "--record")
	caller.Dir, caller.Env = dir, env
	out, err := caller.Output()
	if err != nil {
		t.Fatalf("the caller: %v\n%s\nserver:\n%s", err, out, serverLog.String())
	}
	svid := ""
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		var e callEvent
		if json.Unmarshal(sc.Bytes(), &e) == nil && e.Event == "callDidConnect" {
			svid = e.ServerVideoID
		}
	}
	if svid == "" {
		t.Fatalf("no serverVideoId: the call was not recorded\n%s", out)
	}
	files := waitRecordings(t, filepath.Join(dir, "duet-data", "recordings", svid))
	for _, f := range files {
		p, err := recording.Probe(context.Background(), f)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if len(p.Codecs) != 2 || p.Duration < 3*time.Second {
			t.Errorf("%s: %+v, want opus and vp8 over about 4 s", filepath.Base(f), p)
		}
		// Decoding every frame is what "plays" means: ffprobe reads headers only.
		if dec, err := exec.Command("ffmpeg", "-v", "error", "-i", f, "-f", "null", "-").CombinedOutput(); err != nil || len(dec) > 0 {
			t.Errorf("ffmpeg decoding %s: %v %s", filepath.Base(f), err, dec)
		}
	}
}

// cleanEnv is the environment without DUET_ variables, as on a fresh machine.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "DUET_") {
			env = append(env, kv)
		}
	}
	return env
}

// repoRoot is the repository's folder (the test runs in cmd/duet).
func repoRoot(t *testing.T) string {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(wd, "..", "..")
}

// waitUp waits for the server's /healthz, or for its exit.
func waitUp(url string, exited <-chan struct{}) error {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return errors.New("exited")
		default:
		}
		if resp, err := http.Get(url + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return errors.New("no /healthz within 60 s")
}

// waitConnections waits until the server has n device connections.
func waitConnections(t *testing.T, url string, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var h struct{ Connections int }
		if resp, err := http.Get(url + "/healthz"); err == nil {
			_ = json.NewDecoder(resp.Body).Decode(&h)
			resp.Body.Close()
		}
		if h.Connections >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d connections, want %d", h.Connections, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitRecordings waits for the call's two per-stream files to be finished (probed whole).
func waitRecordings(t *testing.T, dir string) []string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		files, _ := filepath.Glob(filepath.Join(dir, "*.webm"))
		ok := len(files) == 2
		for _, f := range files {
			if p, err := recording.Probe(context.Background(), f); err != nil || p.Duration < 3*time.Second {
				ok = false
			}
		}
		if ok {
			return files
		}
		if time.Now().After(deadline) {
			t.Fatalf("recordings in %s: %v", dir, files)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// syncBuffer is a bytes.Buffer that a process's output and the test may use at once.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
