package duet_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/duet-rtc/duet/server/api"
	"github.com/duet-rtc/duet/server/quality"
	"github.com/duet-rtc/duet/server/store/postgres/pgtest"
)

// This file runs `duet server` as a child process, so that tests can stop it the way a
// machine does: SIGKILL (no goodbye, no flush, no closing of the database) or SIGTERM (the
// graceful shutdown), and start it again on the same data.

// processAdminToken is the admin token every server process is started with.
const processAdminToken = "adm_process_test_token_0123456789"

// processAppKey is the demo app a server creates on its first start (open registration).
const processAppKey = "demo#duet"

// noKeepAlive is the HTTP client of the tests' own requests to server processes (health
// checks, admin and REST calls). Without keep-alives no idle connection, and none of the
// transport's goroutines, outlives a request: the goroutine checker stays quiet, and a
// killed server leaves nothing half-open behind.
var noKeepAlive = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}

// The duet binary is built once per test run (it takes seconds) and removed by TestMain.
var (
	buildOnce sync.Once
	buildDir  string
	buildBin  string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// duetBinary returns the path of the duet binary, building it on first use. Tests that need
// it are skipped under -short.
func duetBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the duet binary")
	}
	buildOnce.Do(func() {
		if buildDir, buildErr = os.MkdirTemp("", "duet-test-bin-"); buildErr != nil {
			return
		}
		buildBin = filepath.Join(buildDir, "duet")
		if out, err := exec.Command("go", "build", "-o", buildBin, "./cmd/duet").CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildBin
}

// serverStore says where a server process keeps its data.
type serverStore struct {
	name string // "sqlite" or "postgres": the subtest's name
	// url is passed as --store; "" keeps the default, SQLite in the data folder.
	url string
}

// forEachStore runs f as one subtest per store: SQLite (the default data folder) always,
// and PostgreSQL, on a fresh database of its own, when DUET_TEST_POSTGRES holds the URL of
// a server the tests may create databases on.
func forEachStore(t *testing.T, f func(t *testing.T, st serverStore)) {
	t.Run("sqlite", func(t *testing.T) { f(t, serverStore{name: "sqlite"}) })
	// pgtest skips the subtest when DUET_TEST_POSTGRES is unset; it drops the database
	// after the server processes, whose cleanups run first.
	t.Run("postgres", func(t *testing.T) { f(t, serverStore{name: "postgres", url: pgtest.URL(t)}) })
}

// serverProcess is `duet server` run as a child process on a data folder (and store) that
// outlives it, so that it can be stopped and started again on the same data.
type serverProcess struct {
	t          *testing.T
	bin, data  string
	addr, logf string
	store      string   // --store URL; "" keeps SQLite in data
	flags      []string // further flags, e.g. --reconnect-grace 5s

	cmd    *exec.Cmd
	exited chan error // the running process's exit, from cmd.Wait
	// startedAt is when the latest start began, before the process was executed: anything
	// the server does "from the moment it started" happens after it.
	startedAt time.Time
}

// newServerProcess prepares a server process on a fresh data folder and a free loopback
// port, with st's store and the extra flags; start runs it. When the test ends the process
// is killed, and if the test failed the end of its log is printed.
func newServerProcess(t *testing.T, st serverStore, flags ...string) *serverProcess {
	t.Helper()
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	p := &serverProcess{t: t, bin: duetBinary(t), data: filepath.Join(dir, "data"), addr: addr,
		logf: filepath.Join(dir, "server.log"), store: st.url, flags: flags}
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			t.Logf("server log (%s), last 60 lines:\n%s", st.name, p.logTail(60))
		}
	})
	return p
}

// url is the base URL clients reach the server at; it is the same after a restart.
func (p *serverProcess) url() string { return "http://" + p.addr }

// start runs the server and returns once it answers /healthz. It fails the test if the
// process exits first or does not come up within 20 s.
func (p *serverProcess) start() {
	p.t.Helper()
	if p.cmd != nil {
		p.t.Fatal("serverProcess.start: already running")
	}
	log, err := os.OpenFile(p.logf, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		p.t.Fatal(err)
	}
	defer log.Close()
	args := []string{"server", "--addr", p.addr, "--data", p.data, "--admin-token", processAdminToken,
		"--turn-addr", "", "--relay-ports", "any", "--media-loopback", "--log-level", "info", "--ffmpeg", "none"}
	if p.store != "" {
		args = append(args, "--store", p.store)
	}
	args = append(args, p.flags...)
	fmt.Fprintf(log, "=== %s start: %s\n", time.Now().Format(time.RFC3339Nano), strings.Join(args, " "))
	p.cmd = exec.Command(p.bin, args...)
	p.cmd.Stdout, p.cmd.Stderr = log, log
	p.startedAt = time.Now()
	if err := p.cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	p.exited = make(chan error, 1)
	go func(cmd *exec.Cmd, exited chan<- error) { exited <- cmd.Wait() }(p.cmd, p.exited)
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := noKeepAlive.Get(p.url() + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case werr := <-p.exited:
			p.cmd = nil
			p.t.Fatalf("server exited before it came up (%v); its log follows", werr)
		default:
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("server did not come up within 20 s (%v); its log follows", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// kill ends the process with SIGKILL and reaps it. Killing a process that is not running
// does nothing.
func (p *serverProcess) kill() {
	if p.cmd == nil {
		return
	}
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exited
	p.cmd = nil
}

// stop sends sig and returns the process's exit (nil for status 0), failing the test if it
// has not exited within 20 s (then it is killed).
func (p *serverProcess) stop(sig os.Signal) error {
	p.t.Helper()
	if p.cmd == nil {
		p.t.Fatal("serverProcess.stop: not running")
	}
	p.cmd.Process.Signal(sig)
	select {
	case err := <-p.exited:
		p.cmd = nil
		return err
	case <-time.After(20 * time.Second):
		p.kill()
		p.t.Fatalf("server did not exit within 20 s of %v", sig)
		return nil
	}
}

// logTail returns the last n lines of the server's log (every run's, appended).
func (p *serverProcess) logTail(n int) string {
	b, err := os.ReadFile(p.logf)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// admin returns a client of the server's admin API.
func (p *serverProcess) admin() *api.AdminClient {
	return &api.AdminClient{BaseURL: p.url(), Token: processAdminToken, HTTP: noKeepAlive}
}

// callRecords returns every call record of the demo app, through the REST API with an app
// token (GET /{org}/{app}/calls, all pages).
func (p *serverProcess) callRecords(ctx context.Context) ([]api.Call, error) {
	tok, err := p.appToken(ctx)
	if err != nil {
		return nil, err
	}
	var all []api.Call
	cursor := ""
	for {
		q := url.Values{"limit": {"100"}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		page, err := getEntities[api.Call](ctx, p, appPath("/calls?"+q.Encode()), tok)
		if err != nil {
			return nil, err
		}
		all = append(all, page.Entities...)
		if page.Cursor == "" {
			return all, nil
		}
		cursor = page.Cursor
	}
}

// qualitySamples returns how many quality samples each party's devices reported of call id,
// by user, through the REST API (GET /{org}/{app}/calls/{callId}/quality, app token).
func (p *serverProcess) qualitySamples(ctx context.Context, id string) (map[string]int, error) {
	tok, err := p.appToken(ctx)
	if err != nil {
		return nil, err
	}
	page, err := getEntities[quality.Report](ctx, p, appPath("/calls/"+id+"/quality"), tok)
	if err != nil || len(page.Entities) != 1 {
		return nil, fmt.Errorf("quality of %s: %d entities, %v", id, len(page.Entities), err)
	}
	out := map[string]int{}
	for _, party := range page.Entities[0].Parties {
		out[party.User] += len(party.Samples)
	}
	return out, nil
}

// appToken returns an app token of the demo app.
func (p *serverProcess) appToken(ctx context.Context) (string, error) {
	tok, err := p.admin().AppToken(ctx, processAppKey, time.Hour)
	if err != nil {
		return "", fmt.Errorf("app token: %w", err)
	}
	return tok.AccessToken, nil
}

// appPath is rest under the demo app's REST path: /{org}/{app}rest.
func appPath(rest string) string {
	org, app, _ := strings.Cut(processAppKey, "#")
	return "/" + org + "/" + app + rest
}

// getEntities GETs path on p with a bearer token and decodes the REST response; a status
// other than 200 is an error.
func getEntities[T any](ctx context.Context, p *serverProcess, path, token string) (api.Response[T], error) {
	var page api.Response[T]
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.url()+path, nil)
	if err != nil {
		return page, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := noKeepAlive.Do(req)
	if err != nil {
		return page, err
	}
	defer resp.Body.Close()
	err = json.NewDecoder(resp.Body).Decode(&page)
	if err != nil || resp.StatusCode != http.StatusOK {
		return page, fmt.Errorf("GET %s: status %d: %v", path, resp.StatusCode, err)
	}
	return page, nil
}

// recordsOf returns the records with call id id.
func recordsOf(all []api.Call, id string) []api.Call {
	var out []api.Call
	for _, c := range all {
		if c.ID == id {
			out = append(out, c)
		}
	}
	return out
}

// waitCallRecord polls the call records until the call id has one, and returns every record
// it has (so that a caller can check there is exactly one). A record is written when the
// call ends; polling covers a server that writes records in batches.
func (p *serverProcess) waitCallRecord(t *testing.T, id string, within time.Duration) []api.Call {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		all, err := p.callRecords(ctx)
		cancel()
		if err == nil {
			if recs := recordsOf(all, id); len(recs) > 0 {
				return recs
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no call record of %s within %v (last error %v; %d records in all)", id, within, err, len(all))
		}
		time.Sleep(50 * time.Millisecond)
	}
}
