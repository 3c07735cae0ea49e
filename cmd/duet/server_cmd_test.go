package main

import (
	"context"
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
// process SIGTERM and checks the device is told (goodbye) and the server returns cleanly.
func TestServerStopsOnSIGTERM(t *testing.T) {
	addr := freeAddr(t)
	cfg := server.Config{Addr: addr, DataDir: t.TempDir(), Logger: slog.New(slog.DiscardHandler)}
	done := make(chan error, 1)
	go func() { done <- runServer(context.Background(), cfg) }()
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
	sawGoodbye := false
	for {
		_, b, err := ws.Read(ctx)
		if err != nil {
			break
		}
		if env, err := protocol.DecodeEnvelope(b); err == nil && env.Type == protocol.TypeGoodbye {
			sawGoodbye = true
		}
	}
	if !sawGoodbye {
		t.Fatal("the device was not told the server is going away")
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
