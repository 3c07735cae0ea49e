package signal

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http/httptest"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/duet-rtc/duet/protocol"
)

// benchHub serves a hub with the real clock and no handler on a loopback listener.
func benchHub(b *testing.B) (*Hub, *httptest.Server) {
	b.Helper()
	hub := NewHub(Config{Logger: quietLogger()}, testAuth{}, nil)
	srv := httptest.NewServer(hub)
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		hub.Shutdown(ctx)
		srv.Close()
	})
	return hub, srv
}

func helloFrame(user, device string) []byte {
	b, _ := protocol.NewMessage(protocol.TypeHello, "h", protocol.Hello{Version: protocol.Version,
		Token: "tok-" + user, DeviceID: device, Capabilities: protocol.Capabilities{Audio: true, Video: true}}).Encode()
	return b
}

// BenchmarkConnectAuth measures whole logins over loopback: WebSocket dial, hello, welcome,
// hang up. Three ways:
//
//	client=coder  coder/websocket clients (as the Go SDK dials) in this process
//	client=raw    bare-socket clients doing the handshake by hand, in this process
//	client=child  bare-socket clients in a child process (TestConnectDialer); besides
//	              connects/s it reports the server's own CPU time per login (getrusage)
//
// On a small machine the clients take a large share of the CPU: server-cpu-us/op is the
// server's cost alone.
func BenchmarkConnectAuth(b *testing.B) {
	b.Run("client=coder", func(b *testing.B) {
		benchConnect(b, func(addr string, i int) (io.Closer, error) { return dialFull(addr, i) })
	})
	b.Run("client=raw", func(b *testing.B) { benchConnect(b, dialRaw) })
	b.Run("client=child", benchConnectChild)
}

func benchConnect(b *testing.B, dial func(addr string, i int) (io.Closer, error)) {
	hub, srv := benchHub(b)
	addr := srv.Listener.Addr().String()
	var seq atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(4)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			c, err := dial(addr, int(seq.Add(1)))
			if err != nil {
				b.Error(err)
				return
			}
			c.Close()
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "connects/s")
	waitFor(b, "the connections to end", func() bool { return hub.Count() == 0 })
}

func benchConnectChild(b *testing.B) {
	hub, srv := benchHub(b)
	cmd := exec.Command(os.Args[0], "-test.run=^TestConnectDialer$", "-test.count=1")
	cmd.Env = append(os.Environ(), "DUET_CONNECT_ADDR="+srv.Listener.Addr().String(), "DUET_CONNECT_N="+strconv.Itoa(b.N))
	cpu0 := cpuTime()
	b.ResetTimer()
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("dialer: %v\n%s", err, out)
	}
	b.StopTimer()
	waitFor(b, "the connections to end", func() bool { return hub.Count() == 0 })
	cpu := cpuTime() - cpu0
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "connects/s")
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "server-cpu-us/op")
}

// cpuTime is the CPU time this process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestConnectDialer is BenchmarkConnectAuth's client process: it logs in and hangs up
// DUET_CONNECT_N devices at DUET_CONNECT_ADDR, eight at a time. Without the variables it does
// nothing.
func TestConnectDialer(t *testing.T) {
	addr := os.Getenv("DUET_CONNECT_ADDR")
	if addr == "" {
		t.Skip("the client side of BenchmarkConnectAuth")
	}
	n, err := strconv.Atoi(os.Getenv("DUET_CONNECT_N"))
	if err != nil {
		t.Fatal(err)
	}
	parallelN(t, n, 8, func(i int) error {
		c, err := dialRaw(addr, i)
		if err == nil {
			c.Close()
		}
		return err
	})
}

// BenchmarkIdleConnMemory opens DUET_BENCH_CONNS (default 2000) idle authenticated
// connections and reports the memory they hold, per connection (HeapInuse+StackInuse after
// GC, less the same before):
//
//	server-B/conn  the hub's side alone: the clients run in a child process (this test binary
//	               again, see TestIdleDialer), bare sockets doing the WebSocket handshake by hand
//	full-B/conn    hub and coder/websocket clients both in this process (when the open file
//	               limit allows both ends)
//
// It measures once whatever b.N is: run it with -benchtime=1x.
func BenchmarkIdleConnMemory(b *testing.B) {
	n := 2000
	if s := os.Getenv("DUET_BENCH_CONNS"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v <= 0 {
			b.Fatalf("DUET_BENCH_CONNS=%q", s)
		}
		n = v
	}
	limit := raiseFileLimit(uint64(2*n + 256))

	server := measureHub(b, "server", n, func(addr string) func() { return dialInChild(b, addr, n) })
	b.ReportMetric(server.bytes, "server-B/conn")
	b.ReportMetric(server.stack, "server-stack-B/conn")
	b.ReportMetric(server.goroutines, "goroutines/conn")
	b.Logf("%d connections: server side %.0f B/conn (%.1f KiB; stacks %.0f B), %.2f goroutines/conn",
		n, server.bytes, server.bytes/1024, server.stack, server.goroutines)

	if limit < uint64(2*n+256) {
		b.Logf("open file limit %d: no room for both ends of %d connections in one process; full-B/conn not measured", limit, n)
		return
	}
	full := measureHub(b, "full", n, func(addr string) func() {
		conns := make([]io.Closer, n)
		parallel(b, n, func(i int) error {
			c, err := dialFull(addr, i)
			conns[i] = c
			return err
		})
		return func() {
			for _, c := range conns {
				if c != nil {
					c.Close()
				}
			}
		}
	})
	b.ReportMetric(full.bytes, "full-B/conn")
	b.Logf("with coder/websocket clients in process: %.0f B/conn", full.bytes)
}

type memResult struct{ bytes, stack, goroutines float64 }

type memSample struct {
	inuse, stack uint64
	goroutines   int
}

func sample() memSample {
	// Stacks shrink by half per GC at most: a few rounds bring them to their resting size.
	for range 10 {
		runtime.GC()
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return memSample{ms.HeapInuse + ms.StackInuse, ms.StackInuse, runtime.NumGoroutine()}
}

// measureHub measures n idle devices on a fresh hub: open dials them (returning once all
// have their welcome) and returns a func that hangs them up.
func measureHub(b *testing.B, name string, n int, open func(addr string) func()) memResult {
	b.Helper()
	hub, srv := benchHub(b)
	before := sample()
	hangUp := open(srv.Listener.Addr().String())
	waitFor(b, "every device online", func() bool { return hub.Count() == n })
	after := sample()
	writeHeapProfile(b, name)
	hangUp()
	waitFor(b, "every device offline", func() bool { return hub.Count() == 0 })
	srv.Close()
	return memResult{
		bytes:      (float64(after.inuse) - float64(before.inuse)) / float64(n),
		stack:      (float64(after.stack) - float64(before.stack)) / float64(n),
		goroutines: float64(after.goroutines-before.goroutines) / float64(n),
	}
}

// writeHeapProfile writes the heap profile to DUET_BENCH_HEAPPROFILE-name, if set, while
// the devices are connected (go test's -memprofile is written after they hung up). Run with
// -memprofilerate=512 or so to see small allocations.
func writeHeapProfile(b *testing.B, name string) {
	path := os.Getenv("DUET_BENCH_HEAPPROFILE")
	if path == "" {
		return
	}
	f, err := os.Create(path + "-" + name)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		b.Fatal(err)
	}
}

// dialInChild runs TestIdleDialer in a child process to hold n connections to addr, and
// returns once they are all logged in; the returned func ends the child.
func dialInChild(b *testing.B, addr string, n int) func() {
	cmd := exec.Command(os.Args[0], "-test.run=^TestIdleDialer$", "-test.count=1")
	cmd.Env = append(os.Environ(), "DUET_DIALER_ADDR="+addr, "DUET_DIALER_N="+strconv.Itoa(n))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "ready\n" {
		stdin.Close()
		cmd.Wait()
		b.Fatalf("dialer: %q, %v", line, err)
	}
	return func() {
		stdin.Close()
		if err := cmd.Wait(); err != nil {
			b.Errorf("dialer: %v", err)
		}
	}
}

// TestIdleDialer is BenchmarkIdleConnMemory's client process: it logs in DUET_DIALER_N
// devices to DUET_DIALER_ADDR, says "ready", and hangs up when its stdin closes. Without the
// variables it does nothing.
func TestIdleDialer(t *testing.T) {
	addr := os.Getenv("DUET_DIALER_ADDR")
	if addr == "" {
		t.Skip("the client side of BenchmarkIdleConnMemory")
	}
	n, err := strconv.Atoi(os.Getenv("DUET_DIALER_N"))
	if err != nil {
		t.Fatal(err)
	}
	raiseFileLimit(uint64(n + 256))
	conns := make([]io.Closer, n)
	parallel(t, n, func(i int) error {
		c, err := dialRaw(addr, i)
		conns[i] = c
		return err
	})
	fmt.Println("ready")
	io.Copy(io.Discard, os.Stdin)
	for _, c := range conns {
		c.Close()
	}
}

// parallel runs f for 0..n-1 on 32 goroutines.
func parallel(b testing.TB, n int, f func(i int) error) { parallelN(b, n, 32, f) }

// parallelN runs f for 0..n-1 on workers goroutines.
func parallelN(b testing.TB, n, workers int, f func(i int) error) {
	b.Helper()
	var next atomic.Int64
	var wg sync.WaitGroup
	var failed atomic.Value
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n || failed.Load() != nil {
					return
				}
				if err := f(i); err != nil {
					failed.Store(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		b.Fatal(err)
	}
}

// dialFull logs in with the coder/websocket client.
func dialFull(addr string, i int) (io.Closer, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws://"+addr, nil)
	if err != nil {
		return nil, err
	}
	if err := ws.Write(ctx, websocket.MessageText, helloFrame(fmt.Sprint("u", i), "d")); err != nil {
		return nil, err
	}
	if _, _, err := ws.Read(ctx); err != nil {
		return nil, err
	}
	return closerFunc(func() error { return ws.CloseNow() }), nil
}

type closerFunc func() error

func (f closerFunc) Close() error { return f() }

// dialRaw logs in over a bare TCP connection, doing the WebSocket handshake by hand, so that
// the client side holds nothing but the socket.
func dialRaw(addr string, i int) (io.Closer, error) {
	nc, err := net.DialTimeout("tcp", addr, 30*time.Second)
	if err != nil {
		return nil, err
	}
	nc.SetDeadline(time.Now().Add(30 * time.Second))
	fail := func(err error) (io.Closer, error) { nc.Close(); return nil, err }
	fmt.Fprintf(nc, "GET / HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", addr)
	br := bufio.NewReaderSize(nc, 256)
	status, err := br.ReadString('\n')
	if err != nil || !strings.HasPrefix(status, "HTTP/1.1 101") {
		return fail(fmt.Errorf("upgrade: %q %v", status, err))
	}
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return fail(err)
		}
		if line == "\r\n" {
			break
		}
	}
	// A masked text frame with a zero mask key: the payload goes as it is.
	hello := helloFrame(fmt.Sprint("u", i), "d")
	frame := []byte{0x81, 0x80 | 126, 0, 0, 0, 0, 0, 0}
	binary.BigEndian.PutUint16(frame[2:], uint16(len(hello)))
	if _, err := nc.Write(append(frame, hello...)); err != nil {
		return fail(err)
	}
	var h [4]byte
	if _, err := io.ReadFull(br, h[:2]); err != nil {
		return fail(err)
	}
	size := int(h[1] & 0x7f)
	if size == 126 {
		if _, err := io.ReadFull(br, h[2:4]); err != nil {
			return fail(err)
		}
		size = int(binary.BigEndian.Uint16(h[2:4]))
	}
	payload := make([]byte, size)
	if _, err := io.ReadFull(br, payload); err != nil {
		return fail(err)
	}
	if h[0] != 0x81 || !strings.Contains(string(payload), `"appKey"`) {
		return fail(errors.New("no welcome: " + string(payload)))
	}
	nc.SetDeadline(time.Time{})
	return nc, nil
}

// raiseFileLimit raises the soft open file limit towards want, as far as the hard limit
// allows, and returns the limit in force.
func raiseFileLimit(want uint64) uint64 {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0
	}
	if rl.Cur < want {
		rl.Cur = min(want, rl.Max)
		syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl)
		syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl)
	}
	return rl.Cur
}
