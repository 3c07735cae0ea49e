package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/duet-rtc/duet/server/servertest"
)

// waitOnline polls /healthz until n devices are connected.
func waitOnline(t *testing.T, srv *servertest.Server, n int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		_, body := srv.Do("GET", "/healthz", "", nil)
		var h struct{ Connections int }
		if json.Unmarshal(body, &h) == nil && h.Connections >= n {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%d devices did not come online", n)
}

func baseFlags(srv *servertest.Server, user string) callFlags {
	return callFlags{
		server: srv.URL, appKey: srv.AppKey, user: user, password: "pw", loopback: true,
		duration: time.Second, after: 100 * time.Millisecond, timeout: 60 * time.Second, expectReason: -1,
	}
}

func TestCallCommandVideoCall(t *testing.T) {
	srv := servertest.Start(t)
	srv.AddUser("alice", "pw")
	srv.AddUser("bob", "pw")
	dir := t.TempDir()
	media := func(name string) string { return filepath.Join("..", "..", "testdata", "media", name) }

	answerer := baseFlags(srv, "bob")
	answerer.answer = true
	answerer.send = []string{media("tone-440.ogg"), media("bars-160x120.ivf")}
	answerer.saveRemote = filepath.Join(dir, "bob-got")
	done := make(chan error, 1)
	go func() { done <- runCall(context.Background(), answerer) }()
	waitOnline(t, srv, 1)

	caller := baseFlags(srv, "alice")
	caller.to, caller.video = "bob", true
	caller.send = []string{media("tone-440.ogg"), media("pattern-320x240.ivf")}
	caller.saveRemote = filepath.Join(dir, "alice-got")
	if err := runCall(context.Background(), caller); err != nil {
		t.Fatalf("caller: %v", err)
	}
	if err := <-done; err != nil {
		t.Fatalf("answerer: %v", err)
	}
	for _, f := range []string{"bob-got.ivf", "bob-got.ogg", "alice-got.ivf", "alice-got.ogg"} {
		st, err := os.Stat(filepath.Join(dir, f))
		if err != nil || st.Size() < 1000 {
			t.Fatalf("%s: %v (%d bytes)", f, err, st.Size())
		}
	}
	if _, err := exec.LookPath("ffprobe"); err == nil {
		// The IVF header of a sink says 640x480 whatever it receives; decode a frame instead.
		out, err := exec.Command("ffprobe", "-v", "error", "-read_intervals", "%+#1", "-show_entries", "frame=width",
			"-of", "csv=p=0", filepath.Join(dir, "bob-got.ivf")).CombinedOutput()
		if err != nil || string(out) != "320\n" {
			t.Fatalf("ffprobe of the received video: %q %v", out, err)
		}
	}
}

func TestCallCommandDecline(t *testing.T) {
	srv := servertest.Start(t)
	srv.AddUser("alice", "pw")
	srv.AddUser("bob", "pw")
	answerer := baseFlags(srv, "bob")
	answerer.answer, answerer.decline = true, true
	done := make(chan error, 1)
	go func() { done <- runCall(context.Background(), answerer) }()
	waitOnline(t, srv, 1)
	caller := baseFlags(srv, "alice")
	caller.to = "bob"
	err := runCall(context.Background(), caller)
	if exitCode(err) != 4 {
		t.Fatalf("caller expecting Hangup on a declined call: %v, want exit code 4", err)
	}
	caller.expectReason = 2
	if err := <-done; err != nil {
		t.Fatalf("decliner: %v", err)
	}
	go func() { done <- runCall(context.Background(), answerer) }()
	waitOnline(t, srv, 1)
	if err := runCall(context.Background(), caller); err != nil {
		t.Fatalf("caller expecting Decline: %v", err)
	}
	<-done
}

func TestCallCommandFlags(t *testing.T) {
	f := callFlags{user: "a", password: "b"}
	if err := runCall(context.Background(), f); err == nil {
		t.Fatal("neither --to nor --answer accepted")
	}
	f.to, f.answer = "x", true
	if err := runCall(context.Background(), f); err == nil {
		t.Fatal("both --to and --answer accepted")
	}
	if _, _, err := mediaOptions(callFlags{send: []string{"x.mp4"}}); err == nil {
		t.Fatal("an .mp4 --send accepted")
	}
}
