// Package natstest runs a real NATS cluster for tests: nats-server processes built from the
// module's pinned github.com/nats-io/nats-server/v2 (the go.mod tool), with JetStream, on
// loopback ports, routed to each other. Servers can be killed and started again, as a
// machine would lose them.
package natstest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

// The binary is built once per test process: DUET_NATS_SERVER names a prebuilt one
// (scripts/test.sh builds it once for every package).
var (
	buildOnce sync.Once
	buildPath string
	buildErr  error
)

// Binary returns the path of a nats-server binary, building it on first use.
func Binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		if p := os.Getenv("DUET_NATS_SERVER"); p != "" {
			buildPath = p
			return
		}
		dir, err := os.MkdirTemp("", "duet-nats-server-")
		if err != nil {
			buildErr = err
			return
		}
		buildPath = filepath.Join(dir, "nats-server")
		cmd := exec.Command("go", "build", "-o", buildPath, "github.com/nats-io/nats-server/v2")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build nats-server: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildPath
}

// Cluster is a running NATS cluster.
type Cluster struct {
	t       testing.TB
	bin     string
	servers []*server
}

type server struct {
	name                string
	clientPort, cluPort int
	dir, logf           string
	cmd                 *exec.Cmd
	exited              chan error
}

// Start runs an n-server cluster and waits until its routes carry messages. The servers
// are killed when the test ends.
func Start(t testing.TB, n int) *Cluster {
	t.Helper()
	c := &Cluster{t: t, bin: Binary(t)}
	base := t.TempDir()
	for i := range n {
		s := &server{name: fmt.Sprintf("nats%d", i+1), clientPort: freePort(t), cluPort: freePort(t),
			dir: filepath.Join(base, fmt.Sprintf("nats%d", i+1))}
		s.logf = filepath.Join(s.dir, "log")
		if err := os.MkdirAll(s.dir, 0o700); err != nil {
			t.Fatal(err)
		}
		c.servers = append(c.servers, s)
	}
	t.Cleanup(func() {
		for i := range c.servers {
			c.Kill(i)
		}
		if t.Failed() {
			for _, s := range c.servers {
				b, _ := os.ReadFile(s.logf)
				lines := strings.Split(strings.TrimSpace(string(b)), "\n")
				if len(lines) > 15 {
					lines = lines[len(lines)-15:]
				}
				t.Logf("%s log, last lines:\n%s", s.name, strings.Join(lines, "\n"))
			}
		}
	})
	for i := range c.servers {
		c.Restart(i)
	}
	c.waitRouted()
	return c
}

// URLs are the client URLs of every server, for a client that should fail over.
func (c *Cluster) URLs() []string {
	out := make([]string, len(c.servers))
	for i, s := range c.servers {
		out[i] = fmt.Sprintf("nats://127.0.0.1:%d", s.clientPort)
	}
	return out
}

// Restart starts server i (again, on the same ports and JetStream folder) and waits until
// it accepts clients.
func (c *Cluster) Restart(i int) {
	c.t.Helper()
	s := c.servers[i]
	if s.cmd != nil {
		c.t.Fatalf("natstest: %s is running", s.name)
	}
	var routes []string
	for _, o := range c.servers {
		if o != s {
			routes = append(routes, fmt.Sprintf("nats-route://127.0.0.1:%d", o.cluPort))
		}
	}
	args := []string{"-a", "127.0.0.1", "-p", fmt.Sprint(s.clientPort), "-n", s.name,
		"-js", "-sd", filepath.Join(s.dir, "js"), "-l", s.logf}
	if len(routes) > 0 {
		args = append(args, "--cluster_name", "duet-test", "--cluster", fmt.Sprintf("nats://127.0.0.1:%d", s.cluPort),
			"--routes", strings.Join(routes, ","))
	}
	s.cmd = exec.Command(c.bin, args...)
	if err := s.cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	s.exited = make(chan error, 1)
	go func(cmd *exec.Cmd, ch chan<- error) { ch <- cmd.Wait() }(s.cmd, s.exited)
	deadline := time.Now().Add(15 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", s.clientPort), time.Second)
		if err == nil {
			conn.Close()
			return
		}
		select {
		case err := <-s.exited:
			s.cmd = nil
			c.t.Fatalf("natstest: %s exited at start: %v", s.name, err)
		default:
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("natstest: %s did not accept clients within 15 s", s.name)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Kill ends server i with SIGKILL. Killing a server that is not running does nothing.
func (c *Cluster) Kill(i int) {
	s := c.servers[i]
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	<-s.exited
	s.cmd = nil
}

// waitRouted waits until a message published on the first server reaches a subscriber on
// every other one.
func (c *Cluster) waitRouted() {
	c.t.Helper()
	urls := c.URLs()
	pub, err := nats.Connect(urls[0])
	if err != nil {
		c.t.Fatal(err)
	}
	defer pub.Close()
	for _, u := range urls[1:] {
		sub, err := nats.Connect(u)
		if err != nil {
			c.t.Fatal(err)
		}
		s, _ := sub.SubscribeSync("natstest.ping")
		_ = sub.Flush()
		ok := false
		for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline) && !ok; {
			_ = pub.Publish("natstest.ping", nil)
			_ = pub.Flush()
			_, err := s.NextMsg(100 * time.Millisecond)
			ok = err == nil
		}
		sub.Close()
		if !ok {
			c.t.Fatalf("natstest: %s does not route to the first server within 15 s", u)
		}
	}
}

func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
