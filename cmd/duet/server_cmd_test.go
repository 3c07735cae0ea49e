package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/duet-rtc/duet/protocol"
	"github.com/duet-rtc/duet/server"
)

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// freeUDPPort returns a UDP port on 127.0.0.1 that was free a moment ago.
func freeUDPPort(t *testing.T) int {
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// TestServerStopsOnSIGTERM runs `duet server`'s main loop, connects a device, sends the
// process SIGTERM and checks the device is told to come back (goodbye with retryAfter) and
// the server returns cleanly.
func TestServerStopsOnSIGTERM(t *testing.T) {
	addr := freeAddr(t)
	cfg := server.Config{Addr: addr, DataDir: t.TempDir(), Logger: slog.New(slog.DiscardHandler), DrainRetryAfter: 1500 * time.Millisecond}
	done := make(chan error, 1)
	go func() { done <- runServer(context.Background(), cfg, 10*time.Second) }()
	url := "http://" + addr
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(url + "/healthz")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("server did not come up: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// A device connects with a real token.
	token := registerAndLogin(t, url, "demo/duet", "sig", "pw")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, strings.Replace(url, "http", "ws", 1)+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	hello, _ := protocol.NewMessage(protocol.TypeHello, "h", protocol.Hello{Version: 1, Token: token, DeviceID: "d"}).Encode()
	if err := ws.Write(ctx, websocket.MessageText, hello); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ws.Read(ctx); err != nil {
		t.Fatalf("welcome: %v", err)
	}
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	var bye *protocol.Goodbye
	for {
		_, b, err := ws.Read(ctx)
		if err != nil {
			break
		}
		if env, err := protocol.DecodeEnvelope(b); err == nil && env.Type == protocol.TypeGoodbye {
			bye = new(protocol.Goodbye)
			if err := env.DecodeData(bye); err != nil {
				t.Fatalf("goodbye %s: %v", env.Data, err)
			}
		}
	}
	if bye == nil {
		t.Fatal("the device was not told the server is going away")
	}
	if bye.Reason != protocol.GoodbyeRestart || bye.RetryAfter != 1500 {
		t.Fatalf("goodbye %+v, want reason %q and retryAfter 1500", bye, protocol.GoodbyeRestart)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("runServer after SIGTERM: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("server did not stop after SIGTERM")
	}
}

// stuckServer is a server whose Shutdown never returns.
type stuckServer struct{ release chan struct{} }

func (s stuckServer) Shutdown(context.Context) error {
	<-s.release
	return nil
}

// A shutdown that hangs (a store that does not close...) does not keep the process: drain
// gives up at the timeout and says so.
func TestDrainGivesUpAtTimeout(t *testing.T) {
	stuck := stuckServer{release: make(chan struct{})}
	defer close(stuck.release) // lets the abandoned Shutdown goroutine end
	var logged strings.Builder
	log := slog.New(slog.NewTextHandler(&logged, nil))
	start := time.Now()
	if drain(stuck, 50*time.Millisecond, log) {
		t.Fatal("drain reported a stuck shutdown as finished")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("drain took %v", d)
	}
	if !strings.Contains(logged.String(), "exiting anyway") {
		t.Fatalf("log %q", logged.String())
	}
}

func TestDrainDeadline(t *testing.T) {
	for timeout, want := range map[time.Duration]time.Duration{
		time.Second: 800 * time.Millisecond, 10 * time.Second: 8 * time.Second, time.Minute: 58 * time.Second,
	} {
		if got := drainDeadline(timeout); got != want {
			t.Errorf("drainDeadline(%v) = %v, want %v", timeout, got, want)
		}
	}
}

func TestDrainFlags(t *testing.T) {
	cfg := server.Config{DrainRetryAfter: 2 * time.Second}
	if d, err := drainFlags(&cfg, 15*time.Second); err != nil || d != 15*time.Second {
		t.Fatalf("drainFlags: %v %v", d, err)
	}
	for _, bad := range [][2]time.Duration{{61 * time.Second, 10 * time.Second}, {time.Second, 0}, {time.Second, -time.Second}} {
		cfg.DrainRetryAfter = bad[0]
		if _, err := drainFlags(&cfg, bad[1]); err == nil {
			t.Errorf("drainFlags(%v, %v) accepted", bad[0], bad[1])
		}
	}
}

// Duration flags are durations: a bad one is refused by the flag parser, a bad environment
// value by the command, never silently replaced by the default.
func TestServerDurationFlags(t *testing.T) {
	cmd := rootCommand()
	cmd.SetArgs([]string{"server", "--ring-timeout", "soon"})
	cmd.SetOut(io.Discard)
	cmd.SetErr(io.Discard)
	if err := cmd.Execute(); err == nil || !strings.Contains(err.Error(), "ring-timeout") {
		t.Fatalf("--ring-timeout soon: %v", err)
	}
	t.Setenv("DUET_RECONNECT_GRACE", "forever")
	envDurationErrs = nil
	cmd = rootCommand()
	cmd.SetArgs([]string{"server", "--data", t.TempDir(), "--addr", freeAddr(t)})
	if err := cmd.Execute(); err == nil || !strings.Contains(err.Error(), "DUET_RECONNECT_GRACE") {
		t.Fatalf("DUET_RECONNECT_GRACE=forever: %v", err)
	}
	envDurationErrs = nil
}

// TestServerProcessExitsZeroOnSIGTERM runs `duet server` as a process with a device
// connected and checks that SIGTERM ends it with status 0, well within --shutdown-timeout.
func TestServerProcessExitsZeroOnSIGTERM(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs a process")
	}
	bin := buildDuet(t)
	addr := freeAddr(t)
	url := "http://" + addr
	port := freeUDPPort(t)
	srv := start(t, bin, []string{"DUET_TURN_ADDR="}, "server", "--addr", addr, "--data", t.TempDir(),
		"--media-loopback", "--log-level", "error", "--relay-ports", fmt.Sprintf("%d-%d", port, port),
		"--shutdown-timeout", "5s")
	go io.Copy(io.Discard, srv.stdout)
	waitHealthy(t, url)
	ws := helloDevice(t, url, registerAndLogin(t, url, "demo/duet", "proc", "pw"))
	defer ws.CloseNow()

	began := time.Now()
	if err := srv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-srv.done:
	case <-time.After(20 * time.Second):
		t.Fatal("the server did not exit after SIGTERM")
	}
	if code := srv.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("exit status %d, want 0", code)
	}
	if d := time.Since(began); d > 5*time.Second {
		t.Fatalf("exit took %v, longer than --shutdown-timeout", d)
	}
}

// helloDevice connects a device with token to the server at url and reads its welcome.
func helloDevice(t *testing.T, url, token string) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, strings.Replace(url, "http", "ws", 1)+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	hello, _ := protocol.NewMessage(protocol.TypeHello, "h", protocol.Hello{Version: 1, Token: token, DeviceID: "d"}).Encode()
	if err := ws.Write(ctx, websocket.MessageText, hello); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ws.Read(ctx); err != nil {
		t.Fatalf("welcome: %v", err)
	}
	return ws
}

func registerAndLogin(t *testing.T, base, appPath, user, pw string) string {
	t.Helper()
	post := func(path, body string) []byte {
		resp, err := http.Post(base+"/"+appPath+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("POST %s: %d %s", path, resp.StatusCode, b)
		}
		return b
	}
	post("/users", `{"username":"`+user+`","password":"`+pw+`"}`)
	b := post("/token", `{"grant_type":"password","username":"`+user+`","password":"`+pw+`"}`)
	i := strings.Index(string(b), `"access_token":"`)
	if i < 0 {
		t.Fatalf("no token in %s", b)
	}
	rest := string(b[i+len(`"access_token":"`):])
	return rest[:strings.Index(rest, `"`)]
}
