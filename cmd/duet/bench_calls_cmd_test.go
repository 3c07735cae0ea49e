package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/duet-rtc/duet/server"
	"github.com/duet-rtc/duet/server/servertest"
)

// benchJSON is the part of `duet bench calls --json` the tests read.
type benchJSON struct {
	Pairs     int            `json:"pairs"`
	Connected int            `json:"connectedPairs"`
	Started   int            `json:"started"`
	Completed int            `json:"completed"`
	Rate      float64        `json:"completedPerSecond"`
	Failures  map[string]int `json:"failures"`
	Latency   map[string]struct {
		Count   int     `json:"count"`
		P50     float64 `json:"p50Ms"`
		Buckets []struct {
			LeMs  float64 `json:"leMs"`
			Count int     `json:"count"`
		} `json:"buckets"`
	} `json:"latency"`
	ServerCPU float64 `json:"serverCpu"`
}

func runBenchJSON(t *testing.T, f callsBenchFlags) (benchJSON, error) {
	t.Helper()
	f.jsonOut = true
	var out, progress bytes.Buffer
	err := runCallsBench(context.Background(), &out, &progress, f)
	var got benchJSON
	if jerr := json.Unmarshal(out.Bytes(), &got); jerr != nil {
		t.Fatalf("not JSON (%v): %s", jerr, out.String())
	}
	if progress.Len() != 0 {
		t.Errorf("progress written to a non-terminal: %q", progress.String())
	}
	return got, err
}

// TestBenchCallsCommand: `duet bench calls` against a server in this process, with one of
// three URLs wrong: the pairs with a client there fail to log in and are counted by step
// and code, the others place calls with audio, and the report has every histogram, each
// counting the completed cycles.
func TestBenchCallsCommand(t *testing.T) {
	srv := servertest.Start(t, func(c *server.Config) { c.DeviceRateLimit = -1 })
	f := callsBenchFlags{
		servers: srv.URL + "," + srv.URL + ",http://127.0.0.1:1", appKey: srv.AppKey, users: "load", password: "pw",
		pairs: 3, rate: 20, duration: time.Second, mediaKind: "audio", loopback: true, stepTimeout: 10 * time.Second,
		serverPIDs: strconv.Itoa(os.Getpid()), // the server runs in this process
	}
	got, err := runBenchJSON(t, f)
	if err != nil {
		t.Fatalf("bench: %v", err)
	}
	// Pair 0 is on the two good URLs; pairs 1 and 2 each have a client on the bad one.
	if got.Pairs != 3 || got.Connected != 1 || got.Failures["login:300"] != 2 {
		t.Errorf("pairs %d, connected %d, failures %v: expected 3, 1 and 2 login failures (300: server not reachable)", got.Pairs, got.Connected, got.Failures)
	}
	if got.Completed < 1 || got.Started < got.Completed || got.Rate <= 0 {
		t.Errorf("completed %d of %d started at %.1f/s", got.Completed, got.Started, got.Rate)
	}
	for _, name := range []string{"inviteRing", "acceptFirstFrame", "endEnded"} {
		h, ok := got.Latency[name]
		n := 0
		for _, b := range h.Buckets {
			n += b.Count
		}
		if !ok || h.Count != got.Completed || n != h.Count || h.P50 <= 0 {
			t.Errorf("%s: %+v, expected %d samples in its buckets", name, h, got.Completed)
		}
	}
	if got.ServerCPU <= 0 {
		t.Errorf("serverCpu %v with --server-pid, expected the process's share of a core", got.ServerCPU)
	}
}

// TestBenchCallsNoServer: when no client can log in, every pair's failure is counted, the
// report is still printed, and the exit status is 1.
func TestBenchCallsNoServer(t *testing.T) {
	f := callsBenchFlags{
		servers: "http://127.0.0.1:1", appKey: "a#b", users: "load", password: "pw",
		pairs: 2, rate: 10, duration: 100 * time.Millisecond, mediaKind: "none", stepTimeout: 5 * time.Second,
	}
	got, err := runBenchJSON(t, f)
	var ee *exitError
	if !errors.As(err, &ee) || ee.code != 1 {
		t.Errorf("err %v, expected exit status 1", err)
	}
	if got.Completed != 0 || got.Failures["login:300"] != 2 {
		t.Errorf("completed %d, failures %v: expected 0 and 2 login failures (300: server not reachable)", got.Completed, got.Failures)
	}
	if _, ok := got.Latency["acceptFirstFrame"]; ok {
		t.Error("acceptFirstFrame reported without media")
	}
	if got.ServerCPU != -1 {
		t.Errorf("serverCpu %v without --server-pid, expected -1", got.ServerCPU)
	}
}

// TestBenchCallsRaw: without media the clients speak the wire protocol themselves (no SDK,
// no peer connections) and still complete calls, each timed from invite to ring and from
// end to ended.
func TestBenchCallsRaw(t *testing.T) {
	srv := servertest.Start(t, func(c *server.Config) { c.DeviceRateLimit = -1 })
	f := callsBenchFlags{
		servers: srv.URL, appKey: srv.AppKey, users: "raw", password: "pw",
		pairs: 4, rate: 0, duration: 500 * time.Millisecond, mediaKind: "none", stepTimeout: 10 * time.Second,
	}
	got, err := runBenchJSON(t, f)
	if err != nil {
		t.Fatalf("bench: %v", err)
	}
	if got.Connected != 4 || got.Completed < 4 || len(got.Failures) != 0 {
		t.Fatalf("connected %d, completed %d, failures %v", got.Connected, got.Completed, got.Failures)
	}
	for _, name := range []string{"inviteRing", "endEnded"} {
		if h := got.Latency[name]; h.Count != got.Completed || h.P50 <= 0 {
			t.Errorf("%s: %+v, expected %d samples", name, h, got.Completed)
		}
	}
}
