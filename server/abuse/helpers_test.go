package abuse_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/duet-rtc/duet/protocol"
	"github.com/duet-rtc/duet/server/servertest"
)

// wait bounds every single step of a test.
const wait = 10 * time.Second

// appPath is the REST path of the test server's demo app.
func appPath(s *servertest.Server) string { return "/" + strings.Replace(s.AppKey, "#", "/", 1) }

// login logs user in over REST and returns the token.
func login(t testing.TB, s *servertest.Server, user, password string) string {
	t.Helper()
	status, body := tryLogin(t, s, user, password)
	if status != http.StatusOK {
		t.Fatalf("login %s: HTTP %d %s", user, status, body)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(body, &tok); err != nil {
		t.Fatal(err)
	}
	return tok.AccessToken
}

func tryLogin(t testing.TB, s *servertest.Server, user, password string) (int, []byte) {
	t.Helper()
	b, _ := json.Marshal(map[string]string{"grant_type": "password", "username": user, "password": password})
	return s.Do(http.MethodPost, appPath(s)+"/token", "", b)
}

// device is a device connection speaking the protocol frame by frame.
type device struct {
	t  testing.TB
	ws *websocket.Conn
	n  int
}

// dialFrom opens /ws from the local address src ("" for any).
func dialFrom(t testing.TB, s *servertest.Server, src string) (*websocket.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	opts := &websocket.DialOptions{}
	if src != "" {
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
		opts.HTTPClient = &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}
	}
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(s.URL, "http")+"/ws", opts)
	if err != nil {
		return nil, err
	}
	ws.SetReadLimit(1 << 20)
	t.Cleanup(func() { ws.CloseNow() })
	return ws, nil
}

// connect dials and says hello; it fails the test unless welcome comes back.
func connect(t testing.TB, s *servertest.Server, token, deviceID string) *device {
	t.Helper()
	d, err := tryConnect(t, s, token, deviceID)
	if err != nil {
		t.Fatalf("connect %s: %v", deviceID, err)
	}
	return d
}

// tryConnect dials and says hello, and returns the error reply if hello is refused.
func tryConnect(t testing.TB, s *servertest.Server, token, deviceID string) (*device, error) {
	t.Helper()
	ws, err := dialFrom(t, s, "")
	if err != nil {
		return nil, err
	}
	d := &device{t: t, ws: ws}
	id := d.send(protocol.TypeHello, protocol.Hello{Version: protocol.Version, Token: token, DeviceID: deviceID,
		Capabilities: protocol.Capabilities{Audio: true, Video: true}})
	env, err := d.tryRead()
	if err != nil {
		return nil, err
	}
	if env.ID != id || env.Error != nil {
		if env.Error != nil {
			return d, env.Error
		}
		return nil, fmt.Errorf("hello: got %+v", env)
	}
	return d, nil
}

// send sends a request and returns its id.
func (d *device) send(typ string, body any) string {
	d.t.Helper()
	d.n++
	id := fmt.Sprintf("r%d", d.n)
	b, err := protocol.NewMessage(typ, id, body).Encode()
	if err != nil {
		d.t.Fatal(err)
	}
	d.sendRaw(b)
	return id
}

func (d *device) sendRaw(b []byte) {
	d.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := d.ws.Write(ctx, websocket.MessageText, b); err != nil {
		d.t.Fatalf("write: %v", err)
	}
}

func (d *device) tryRead() (*protocol.Envelope, error) {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	_, b, err := d.ws.Read(ctx)
	if err != nil {
		return nil, err
	}
	return protocol.DecodeEnvelope(b)
}

// request sends a request and reads frames until its reply.
func (d *device) request(typ string, body any) (*protocol.Envelope, error) {
	d.t.Helper()
	id := d.send(typ, body)
	for {
		env, err := d.tryRead()
		if err != nil {
			return nil, err
		}
		if env.Type == protocol.TypeReply && env.ID == id {
			return env, nil
		}
	}
}

// ping checks that the connection still works.
func (d *device) ping() error {
	d.t.Helper()
	env, err := d.request(protocol.TypePing, nil)
	if err != nil {
		return err
	}
	if env.Error != nil {
		return env.Error
	}
	return nil
}

// closed reads until the connection ends and returns the frames before and the close
// error.
func (d *device) closed() ([]*protocol.Envelope, websocket.CloseError, error) {
	var got []*protocol.Envelope
	for {
		env, err := d.tryRead()
		if err != nil {
			var ce websocket.CloseError
			if errors.As(err, &ce) {
				return got, ce, nil
			}
			return got, ce, err
		}
		got = append(got, env)
	}
}
