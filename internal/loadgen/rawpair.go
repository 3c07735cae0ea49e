package loadgen

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/duet-rtc/duet/internal/device"
	"github.com/duet-rtc/duet/internal/rest"
	"github.com/duet-rtc/duet/protocol"
)

// A run without media (--media none) places its calls with raw clients: each device speaks
// the wire protocol itself over internal/device's WebSocket connection, with no SDK and so
// no peer connection built per call. The cycle is the signalling a call needs on the server
// — invite, ring, answer, end, ended — and the run measures the server rather than the
// clients' WebRTC setup. No SDP or candidates are exchanged (there is no media).

// rawClient is one logged-in device.
type rawClient struct {
	conn     *device.Conn
	incoming chan string // call ids of call.incoming
	ended    chan string // call ids of call.ended
	stop     chan struct{}
}

// rawPair is a caller and a callee, each a raw client.
type rawPair struct {
	caller, callee *rawClient
	calleeName     string
}

func newRawPair(ctx context.Context, cfg Config, i int) (*rawPair, error) {
	p := &rawPair{calleeName: userName(cfg.Users, i, "b")}
	srv := func(k int) string { return cfg.Servers[(2*i+k)%len(cfg.Servers)] }
	var err error
	if p.caller, err = rawLogin(ctx, cfg, srv(0), userName(cfg.Users, i, "a")); err != nil {
		return nil, err
	}
	if p.callee, err = rawLogin(ctx, cfg, srv(1), p.calleeName); err != nil {
		p.caller.close()
		return nil, err
	}
	return p, nil
}

// rawLogin registers user (unless it exists), gets a token over REST and connects a device.
func rawLogin(ctx context.Context, cfg Config, server, user string) (*rawClient, error) {
	ctx, cancel := context.WithTimeout(ctx, cfg.StepTimeout)
	defer cancel()
	server = strings.TrimRight(server, "/")
	hc := &http.Client{Timeout: cfg.StepTimeout}
	org, app, _ := strings.Cut(cfg.AppKey, "#")
	rc := &rest.Client{HTTP: hc, AppPath: "/" + url.PathEscape(org) + "/" + url.PathEscape(app)}
	creds := map[string]string{"username": user, "password": cfg.Password}
	if err := rc.Do(ctx, server, http.MethodPost, "/users", "", creds, nil); err != nil && protocol.CodeOf(err) != protocol.CodeUserAlreadyExist {
		return nil, err
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	body := map[string]any{"grant_type": "password", "username": user, "password": cfg.Password}
	if err := rc.Do(ctx, server, http.MethodPost, "/token", "", body, &tok); err != nil {
		return nil, err
	}
	id := make([]byte, 8)
	_, _ = rand.Read(id)
	versions := []int{}
	for v := protocol.MinVersion; v <= protocol.Version; v++ {
		versions = append(versions, v)
	}
	hello := protocol.Hello{Version: protocol.Version, Versions: versions, Token: tok.AccessToken,
		DeviceID: "bench-" + hex.EncodeToString(id), Capabilities: protocol.Capabilities{Audio: true}}
	c := &rawClient{incoming: make(chan string, 4), ended: make(chan string, 4), stop: make(chan struct{})}
	ws := "ws" + strings.TrimPrefix(server, "http") + "/ws"
	conn, err := device.Dial(ctx, ws, hc, hello, slog.New(slog.DiscardHandler), c.onMessage)
	if err != nil {
		return nil, err
	}
	c.conn = conn
	go c.ping()
	return c, nil
}

// onMessage hands the call messages a cycle waits for to it; the rest is not needed.
func (c *rawClient) onMessage(env *protocol.Envelope) {
	var ref struct {
		CallID string `json:"callId"`
	}
	var ch chan string
	switch env.Type {
	case protocol.TypeCallIncoming:
		ch = c.incoming
	case protocol.TypeCallEnded:
		ch = c.ended
	default:
		return
	}
	if json.Unmarshal(env.Data, &ref) != nil {
		return
	}
	select {
	case ch <- ref.CallID:
	default: // nobody waits: stale
	}
}

// ping keeps the connection alive as the SDK's heartbeat does (the default interval 30 s).
func (c *rawClient) ping() {
	t := time.NewTicker(20 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			_ = c.conn.Request(ctx, protocol.TypePing, struct{}{}, nil)
			cancel()
		case <-c.stop:
			return
		case <-c.conn.Done():
			return
		}
	}
}

func (c *rawClient) close() {
	close(c.stop)
	c.conn.Close()
}

func (p *rawPair) close() {
	p.caller.close()
	p.callee.close()
}

// cycle places one voice call from the caller to the callee, who answers, and hangs up.
func (p *rawPair) cycle(ctx context.Context, cfg Config) (s sample, err error) {
	sctx, cancel := context.WithTimeout(ctx, cfg.StepTimeout)
	defer cancel()
	s.step = "invite"
	t0 := time.Now()
	var invited protocol.CallInvited
	if err := p.caller.conn.Request(sctx, protocol.TypeCallInvite, protocol.CallInvite{To: p.calleeName, Type: protocol.CallVoice}, &invited); err != nil {
		return s, err
	}
	id := invited.CallID
	ended := false
	defer func() {
		if !ended {
			ectx, cancel := context.WithTimeout(context.Background(), cfg.StepTimeout)
			_ = p.caller.conn.Request(ectx, protocol.TypeCallEnd, protocol.CallEnd{CallID: id, Reason: protocol.EndHangup}, nil)
			cancel()
		}
	}()
	s.step = "ring"
	if err := waitID(sctx, p.callee.incoming, id); err != nil {
		return s, err
	}
	s.ring = time.Since(t0)
	s.step = "answer"
	if err := sleepCtx(ctx, cfg.AnswerAfter); err != nil {
		return s, err
	}
	if err := p.callee.conn.Request(sctx, protocol.TypeCallAnswer, protocol.CallRef{CallID: id}, nil); err != nil {
		return s, err
	}
	if err := sleepCtx(ctx, cfg.Hold); err != nil {
		return s, err
	}
	s.step = "end"
	ectx, cancel2 := context.WithTimeout(ctx, cfg.StepTimeout)
	defer cancel2()
	tEnd := time.Now()
	ended = true
	if err := p.caller.conn.Request(ectx, protocol.TypeCallEnd, protocol.CallEnd{CallID: id, Reason: protocol.EndHangup}, nil); err != nil {
		return s, err
	}
	s.step = "ended"
	if err := waitID(ectx, p.callee.ended, id); err != nil {
		return s, err
	}
	s.ended = time.Since(tEnd)
	return s, nil
}

// waitID waits for id on ch, passing over stale ids.
func waitID(ctx context.Context, ch <-chan string, id string) error {
	for {
		select {
		case got := <-ch:
			if got == id {
				return nil
			}
		case <-ctx.Done():
			return errTimeout
		}
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	select {
	case <-time.After(d):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
