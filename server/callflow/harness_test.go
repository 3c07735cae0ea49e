package callflow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/duet-rtc/duet/internal/clock"
	"github.com/duet-rtc/duet/protocol"
	"github.com/duet-rtc/duet/server/route"
)

const app = "org#app"

var t0 = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

// fakeNet is the server seen from the engine: a settable directory, and an Output that
// delivers every Step at once (as the server does once it is durable), keeping the messages,
// records and events it gets.
type fakeNet struct {
	mu     sync.Mutex
	online map[userKey][]route.Online
	log    []sentMsg
	recs   []Record
	events []Event
	saves  []State
	steps  int
}

type sentMsg struct {
	to  route.Device
	env *protocol.Envelope
}

func newFakeNet() *fakeNet { return &fakeNet{online: make(map[userKey][]route.Online)} }

// Apply takes a step: messages are encoded as the server would (a reply to a device that
// is no longer connected is lost, as on the wire).
func (n *fakeNet) Apply(st *Step) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.steps++
	for _, s := range st.Sends {
		// A reply goes to the device that asked, which a test may have taken offline.
		if s.Msg.Type == protocol.TypeReply || n.isOnline(s.To) {
			n.log = append(n.log, sentMsg{s.To, encode(s.Msg)})
		}
	}
	n.recs = append(n.recs, st.Ends...)
	n.events = append(n.events, st.Events...)
	n.saves = append(n.saves, st.Saves...)
}

func (n *fakeNet) Connected(d route.Device) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.isOnline(d)
}

// encode is wire.Encode (which this package cannot import).
func encode(m Message) *protocol.Envelope {
	switch {
	case m.Err != nil:
		return protocol.NewErrorReply(m.ReplyTo, m.Err)
	case m.Type == protocol.TypeReply:
		return protocol.NewReply(m.ReplyTo, m.Body)
	}
	return protocol.NewMessage(m.Type, "", m.Body)
}

// records returns the records of every call ended so far.
func (n *fakeNet) records() []Record {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]Record(nil), n.recs...)
}

// lastSave returns the latest State handed out for call id.
func (n *fakeNet) lastSave(id string) (State, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for i := len(n.saves) - 1; i >= 0; i-- {
		if n.saves[i].ID == id {
			return n.saves[i], true
		}
	}
	return State{}, false
}

func (n *fakeNet) isOnline(d route.Device) bool {
	for _, o := range n.online[userKey{d.App, d.User}] {
		if o.ID == d.ID {
			return true
		}
	}
	return false
}

func (n *fakeNet) OnlineDevices(app, user string) []route.Online {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]route.Online(nil), n.online[userKey{app, user}]...)
}

func (n *fakeNet) add(o route.Online) {
	n.mu.Lock()
	defer n.mu.Unlock()
	k := userKey{o.App, o.User}
	n.online[k] = append(n.online[k], o)
}

func (n *fakeNet) remove(d route.Device) {
	n.mu.Lock()
	defer n.mu.Unlock()
	k := userKey{d.App, d.User}
	list := n.online[k][:0]
	for _, o := range n.online[k] {
		if o.ID != d.ID {
			list = append(list, o)
		}
	}
	n.online[k] = list
}

// take removes and returns the messages delivered to d, in order.
func (n *fakeNet) take(d route.Device) []*protocol.Envelope {
	n.mu.Lock()
	defer n.mu.Unlock()
	var got []*protocol.Envelope
	kept := n.log[:0]
	for _, m := range n.log {
		if m.to == d {
			got = append(got, m.env)
		} else {
			kept = append(kept, m)
		}
	}
	n.log = kept
	return got
}

type fakeUsers struct {
	names map[userKey]bool
	err   error
}

func (u *fakeUsers) Exists(_ context.Context, app, user string) (bool, error) {
	return u.names[userKey{app, user}], u.err
}

type harness struct {
	t     *testing.T
	clk   *clock.Fake
	net   *fakeNet
	users *fakeUsers
	e     *Engine
	ids   int
}

// newHarness builds an engine over fakes; users alice, bob, carol and dave exist in app.
// syncPusher makes a Pusher that reports f's answer before it returns.
func syncPusher(f func(app, callee string, inv protocol.CallIncoming, text string) bool) func(string, string, protocol.CallIncoming, string, func(bool)) {
	return func(app, callee string, inv protocol.CallIncoming, text string, done func(bool)) {
		done(f(app, callee, inv, text))
	}
}

func newHarness(t *testing.T, tune ...func(*Config)) *harness {
	t.Helper()
	h := &harness{t: t, clk: clock.NewFake(t0), net: newFakeNet()}
	h.users = &fakeUsers{names: map[userKey]bool{}}
	for _, u := range []string{"alice", "bob", "carol", "dave"} {
		h.users.names[userKey{app, u}] = true
	}
	cfg := Config{
		RingTimeout: 45 * time.Second, ReconnectGrace: 30 * time.Second, Clock: h.clk,
		Logger: slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelDebug})),
		NewID:  func() string { h.ids++; return fmt.Sprintf("call-%d", h.ids) },
	}
	for _, f := range tune {
		f(&cfg)
	}
	h.e = New(cfg, h.net, h.net, h.users)
	t.Cleanup(h.e.Close)
	return h
}

func dev(user, id string) route.Device { return route.Device{App: app, User: user, ID: id} }

// connect brings a device online (video-capable unless voiceOnly) and tells the engine.
func (h *harness) connect(user, id string, voiceOnly ...bool) route.Device {
	d := dev(user, id)
	o := route.Online{Device: d, Capabilities: protocol.Capabilities{Audio: true, Video: len(voiceOnly) == 0 || !voiceOnly[0]}}
	h.net.add(o)
	h.e.DeviceOnline(o, nil)
	return d
}

// reconnect brings d back online with the calls it resumes.
func (h *harness) reconnect(d route.Device, resume ...string) {
	o := route.Online{Device: d, Capabilities: protocol.Capabilities{Audio: true, Video: true}}
	if !h.net.isOnline(d) {
		h.net.add(o)
	}
	h.e.DeviceOnline(o, resume)
}

func (h *harness) drop(d route.Device) {
	h.net.remove(d)
	h.e.DeviceOffline(d)
}

// handle hands the engine one request of type typ with body (a pointer to the protocol
// struct), as server/callflow/wire does once the body is decoded.
func handle(e *Engine, d route.Device, rid, typ string, body any) {
	switch typ {
	case protocol.TypeCallInvite:
		e.Invite(d, rid, *body.(*protocol.CallInvite))
	case protocol.TypeCallAnswer:
		e.Answer(d, rid, body.(*protocol.CallRef).CallID)
	case protocol.TypeCallEnd:
		e.End(d, rid, *body.(*protocol.CallEnd))
	case protocol.TypeCallSignal:
		e.Signal(d, rid, *body.(*protocol.CallSignal))
	case protocol.TypeCallConnect:
		e.Connect(d, rid, *body.(*protocol.CallConnect))
	case protocol.TypeCallStream:
		e.Stream(d, rid, *body.(*protocol.CallStream))
	default:
		panic("no such request: " + typ)
	}
}

// request sends a request with id "rq" and returns its reply, which must come ahead of the
// messages the request caused to the same device.
func (h *harness) request(d route.Device, typ string, body any) *protocol.Envelope {
	h.t.Helper()
	earlier := h.net.take(d)
	defer func() { h.putBack(d, earlier) }()
	handle(h.e, d, "rq", typ, body)
	msgs := h.net.take(d)
	for i, m := range msgs {
		if m.Type == protocol.TypeReply && m.ID == "rq" {
			// Put the rest back, in order: only the reply is consumed here.
			rest := append(append([]*protocol.Envelope(nil), msgs[:i]...), msgs[i+1:]...)
			// An invite's reply comes first, so that the caller knows the call id before
			// anything else about the call; the others follow what they caused, as the
			// hub has always written them.
			if i != 0 && typ == protocol.TypeCallInvite {
				h.t.Fatalf("reply to %s arrived after %d other messages", typ, i)
			}
			h.putBack(d, rest)
			return m
		}
	}
	h.putBack(d, msgs)
	h.t.Fatalf("%s: no reply", typ)
	return nil
}

// noReply sends a request without an id and asserts that it got no reply.
func (h *harness) noReply(d route.Device, typ string, body any) {
	h.t.Helper()
	handle(h.e, d, "", typ, body)
	msgs := h.net.take(d)
	for _, m := range msgs {
		if m.Type == protocol.TypeReply || m.Type == protocol.TypeError {
			h.t.Fatalf("%s without an id got %+v", typ, m)
		}
	}
	h.putBack(d, msgs)
}

func (h *harness) putBack(d route.Device, msgs []*protocol.Envelope) {
	h.net.mu.Lock()
	defer h.net.mu.Unlock()
	back := make([]sentMsg, 0, len(msgs)+len(h.net.log))
	for _, m := range msgs {
		back = append(back, sentMsg{d, m})
	}
	h.net.log = append(back, h.net.log...)
}

// ok asserts a successful reply (and returns its data).
func (h *harness) ok(reply *protocol.Envelope) json.RawMessage {
	h.t.Helper()
	if reply == nil {
		h.t.Fatal("no reply")
	}
	if reply.Error != nil {
		h.t.Fatalf("reply error %d: %s", reply.Error.Code, reply.Error.Message)
	}
	return reply.Data
}

// fails asserts a failed reply with code.
func (h *harness) fails(reply *protocol.Envelope, code protocol.ErrorCode) {
	h.t.Helper()
	if reply == nil || reply.Error == nil {
		h.t.Fatalf("reply %+v, want error %d", reply, code)
	}
	if reply.Error.Code != code {
		h.t.Fatalf("error %d (%s), want %d", reply.Error.Code, reply.Error.Message, code)
	}
}

// invite makes from call to and returns the call id from the reply.
func (h *harness) invite(from route.Device, to string, typ protocol.CallType) string {
	h.t.Helper()
	var inv protocol.CallInvited
	if err := json.Unmarshal(h.ok(h.request(from, protocol.TypeCallInvite, &protocol.CallInvite{To: to, Type: typ})), &inv); err != nil {
		h.t.Fatal(err)
	}
	if inv.CallID == "" {
		h.t.Fatal("invite reply without callId")
	}
	return inv.CallID
}

func (h *harness) do(d route.Device, typ string, body any) {
	h.t.Helper()
	h.ok(h.request(d, typ, body))
}

func (h *harness) answer(d route.Device, id string) {
	h.t.Helper()
	h.do(d, protocol.TypeCallAnswer, &protocol.CallRef{CallID: id})
}

func (h *harness) end(d route.Device, id string, r protocol.EndReason) {
	h.t.Helper()
	h.do(d, protocol.TypeCallEnd, &protocol.CallEnd{CallID: id, Reason: r})
}

// m renders one expected message as "type json".
func m(typ string, body any) string {
	b, err := json.Marshal(body)
	if err != nil {
		panic(err)
	}
	return typ + " " + string(b)
}

func ended(id string, r protocol.EndReason, by string) string {
	return m(protocol.TypeCallEnded, protocol.CallEnded{CallID: id, Reason: r, By: by})
}

func peer(id string, present bool) string {
	return m(protocol.TypeCallPeer, protocol.CallPeer{CallID: id, Present: present})
}

func ringing(id, device string) string {
	return m(protocol.TypeCallRinging, protocol.CallRinging{CallID: id, Device: device})
}

func accepted(id, device string) string {
	return m(protocol.TypeCallAccepted, protocol.CallAccepted{CallID: id, Device: device})
}

func incoming(id, from, fromDevice string, typ protocol.CallType) string {
	return m(protocol.TypeCallIncoming, protocol.CallIncoming{CallID: id, From: from, FromDevice: fromDevice, Type: typ})
}

// expect asserts exactly the messages delivered to d since the last check.
func (h *harness) expect(d route.Device, want ...string) {
	h.t.Helper()
	var got []string
	for _, env := range h.net.take(d) {
		got = append(got, env.Type+" "+string(env.Data))
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		h.t.Fatalf("messages to %s/%s:\n got: %s\nwant: %s", d.User, d.ID,
			strings.Join(got, "\n      "), strings.Join(want, "\n      "))
	}
}

// quiet asserts that nothing was delivered to anyone since the last checks.
func (h *harness) quiet() {
	h.t.Helper()
	h.net.mu.Lock()
	defer h.net.mu.Unlock()
	for _, s := range h.net.log {
		h.t.Errorf("unexpected message to %s/%s: %s %s", s.to.User, s.to.ID, s.env.Type, s.env.Data)
	}
}

// settled asserts that no call is live and no timer is pending.
func (h *harness) settled() {
	h.t.Helper()
	if n := h.e.Active(); n != 0 {
		h.t.Errorf("Active() = %d, want 0", n)
	}
	if n := h.clk.Pending(); n != 0 {
		h.t.Errorf("pending timers = %d, want 0", n)
	}
}

// records returns the records, failing unless exactly n were made.
func (h *harness) records(n int) []Record {
	h.t.Helper()
	recs := h.net.records()
	if len(recs) != n {
		h.t.Fatalf("%d records, want %d: %+v", len(recs), n, recs)
	}
	return recs
}

func (h *harness) endReason(i int) protocol.EndReason {
	return h.net.records()[i].EndReason
}

var errLookup = errors.New("db down")

func onlineVoice(d route.Device) route.Online {
	return route.Online{Device: d, Capabilities: protocol.Capabilities{Audio: true}}
}
