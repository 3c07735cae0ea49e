package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/duet-rtc/duet/server/api"
	"github.com/duet-rtc/duet/server/recording"
	"github.com/duet-rtc/duet/server/store"
)

// buildDuet builds this command into a temporary folder.
func buildDuet(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "duet")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// proc is a subprocess the test started; it is killed (by its pid) when the test ends.
type proc struct {
	cmd    *exec.Cmd
	stdout io.ReadCloser
	done   chan struct{}
}

func start(t *testing.T, bin string, env []string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = io.Discard
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, stdout: out, done: make(chan struct{})}
	go func() { cmd.Wait(); close(p.done) }()
	t.Cleanup(func() { p.kill(syscall.SIGKILL) })
	return p
}

func (p *proc) kill(sig syscall.Signal) {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(sig)
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
	}
}

func waitHealthy(t *testing.T, url string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(url + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("server at %s did not come up: %v", url, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestRecordedCallSurvivesServerKill runs `duet server` as a process, makes a recorded video
// call between two `duet call` processes (--record --merge: the caller's JSON shows the
// serverVideoId), kills the server with SIGKILL mid-call, and checks that the per-stream
// files play up to the kill point. A restarted server lists them as interrupted, and
// `duet recording list|download` reach them.
func TestRecordedCallSurvivesServerKill(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs processes")
	}
	if _, err := exec.LookPath("ffprobe"); err != nil {
		t.Skip("ffprobe not installed")
	}
	bin := buildDuet(t)
	data := t.TempDir()
	addr := freeAddr(t)
	url := "http://" + addr
	// Loopback only for the media relay, on one free UDP port (the batched mode `duet
	// server` uses by default); no TURN listener on a fixed port.
	env := []string{"DUET_TURN_ADDR="}
	port := freeUDPPort(t)
	serverArgs := []string{"server", "--addr", addr, "--data", data, "--media-loopback", "--log-level", "error",
		"--relay-ports", fmt.Sprintf("%d-%d", port, port)}
	srv := start(t, bin, env, serverArgs...)
	waitHealthy(t, url)

	media := func(name string) string { return filepath.Join("..", "..", "testdata", "media", name) }
	common := []string{"--server", url, "--password", "pw", "--register", "--loopback", "--json", "--timeout", "60s"}
	callee := start(t, bin, env, append([]string{"call", "--user", "bob", "--answer", "--after", "200ms",
		"--send", media("tone-440.ogg"), "--send", media("bars-160x120.ivf")}, common...)...)
	go io.Copy(io.Discard, callee.stdout)
	// Wait for bob to be online before alice calls.
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(url + "/healthz")
		var h struct{ Connections int }
		if err == nil {
			json.NewDecoder(resp.Body).Decode(&h)
			resp.Body.Close()
		}
		if h.Connections >= 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("bob did not come online")
		}
		time.Sleep(50 * time.Millisecond)
	}
	caller := start(t, bin, env, append([]string{"call", "--user", "alice", "--to", "bob", "--video", "--record", "--merge",
		"--duration", "60s", "--send", media("tone-440.ogg"), "--send", media("pattern-320x240.ivf")}, common...)...)
	events := make(chan callEvent, 64)
	go func() {
		sc := bufio.NewScanner(caller.stdout)
		for sc.Scan() {
			var e callEvent
			if json.Unmarshal(sc.Bytes(), &e) == nil {
				events <- e
			}
		}
		close(events)
	}()
	var svid string
	var accepted time.Time
	timeout := time.After(30 * time.Second)
	for accepted.IsZero() {
		select {
		case e, ok := <-events:
			if !ok {
				t.Fatal("the caller exited before the call was accepted")
			}
			switch e.Event {
			case "callDidConnect":
				svid = e.ServerVideoID
				if e.ConnectType != 2 {
					t.Errorf("connectType %d, want 2 (relay)", e.ConnectType)
				}
			case "callDidAccept":
				accepted = time.Now()
			}
		case <-timeout:
			t.Fatal("the call was not accepted within 30 s")
		}
	}
	if svid == "" {
		t.Fatal("callDidConnect without serverVideoId")
	}
	time.Sleep(3 * time.Second)
	srv.kill(syscall.SIGKILL)
	killedAfter := time.Since(accepted)
	caller.kill(syscall.SIGKILL)
	callee.kill(syscall.SIGKILL)

	files, _ := filepath.Glob(filepath.Join(data, "recordings", svid, "*.webm"))
	if len(files) != 2 {
		t.Fatalf("per-stream files after the kill: %v", files)
	}
	for _, f := range files {
		p, err := recording.Probe(context.Background(), f)
		if err != nil {
			t.Fatalf("%s does not play after the kill: %v", f, err)
		}
		// Up to the kill point: at most the last flush (0.5 s) and the frames in the
		// builders are missing.
		if len(p.Codecs) != 2 || p.Duration < killedAfter-1500*time.Millisecond || p.Duration > killedAfter+500*time.Millisecond {
			t.Errorf("%s: %+v, killed %v after accept", filepath.Base(f), p, killedAfter)
		}
		for _, codec := range []string{"opus", "vp8"} {
			if end := p.StreamEnd[codec]; end < killedAfter-1500*time.Millisecond {
				t.Errorf("%s: %s ends at %v, killed %v after accept", filepath.Base(f), codec, end, killedAfter)
			}
		}
	}

	// A new server on the same data lists them as interrupted.
	srv2 := start(t, bin, env, serverArgs...)
	waitHealthy(t, url)
	out, err := exec.Command(bin, "recording", "list", "--server", url, "--data", data, "--server-video-id", svid, "--json").Output()
	if err != nil {
		t.Fatalf("duet recording list: %v", err)
	}
	var recs []api.Recording
	if err := json.Unmarshal(out, &recs); err != nil {
		t.Fatalf("list output %q: %v", out, err)
	}
	streams := 0
	for _, r := range recs {
		switch r.RecordType {
		case store.RecordTypeStream:
			streams++
			if r.Status != store.RecordingInterrupted || r.Size <= 0 || r.URL == "" {
				t.Errorf("after restart: %+v", r)
			}
		case store.RecordTypeMerged:
			t.Errorf("a merged recording of a call that never ended: %+v", r)
		}
	}
	if streams != 2 {
		t.Fatalf("listed %d per-stream recordings: %+v", streams, recs)
	}
	dl := filepath.Join(t.TempDir(), "dl.webm")
	if out, err := exec.Command(bin, "recording", "download", recs[0].ID, "-o", dl, "--server", url, "--data", data).CombinedOutput(); err != nil {
		t.Fatalf("duet recording download: %v %s", err, out)
	}
	if st, err := os.Stat(dl); err != nil || st.Size() != recs[0].Size {
		t.Fatalf("downloaded %v bytes (%v), want %d", st, err, recs[0].Size)
	}
	// The file is there: a second download is refused unless --force, which says in JSON
	// what it wrote.
	if out, err := exec.Command(bin, "recording", "download", recs[0].ID, "-o", dl, "--server", url, "--data", data).CombinedOutput(); err == nil || !strings.Contains(string(out), "--force") {
		t.Fatalf("download over an existing file: %v %s; want a refusal naming --force", err, out)
	}
	out, err = exec.Command(bin, "recording", "download", recs[0].ID, "-o", dl, "--force", "--json", "--server", url, "--data", data).Output()
	var wrote struct {
		File  string `json:"file"`
		Bytes int64  `json:"bytes"`
	}
	if err != nil || json.Unmarshal(out, &wrote) != nil || wrote.File != dl || wrote.Bytes != recs[0].Size {
		t.Fatalf("download --force --json: %v %s", err, out)
	}
	if out, err := exec.Command(bin, "recording", "delete", recs[0].ID, "--server", url, "--data", data).CombinedOutput(); err != nil || !strings.Contains(string(out), "deleted") {
		t.Fatalf("duet recording delete: %v %s", err, out)
	}
	if out, err := exec.Command(bin, "recording", "get", recs[0].ID, "--server", url, "--data", data).CombinedOutput(); err == nil {
		t.Fatalf("get after delete: %s", out)
	}
	srv2.kill(syscall.SIGTERM)
	select {
	case <-srv2.done:
	default:
		t.Error("the restarted server did not stop on SIGTERM")
	}
}
