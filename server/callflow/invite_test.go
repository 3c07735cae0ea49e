package callflow

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/duet-rtc/duet/protocol"
	"github.com/duet-rtc/duet/server/route"
)

func TestInviteRefusals(t *testing.T) {
	tests := []struct {
		name   string
		setup  func(h *harness) // alice's a1 is online before; bob's b1 too
		body   any
		code   protocol.ErrorCode
		record bool
	}{
		{name: "unknown callee", body: &protocol.CallInvite{To: "zed"}, code: protocol.CodeUserNotFound},
		{name: "self", body: &protocol.CallInvite{To: "alice"}, code: protocol.CodeCallSelf},
		{name: "self, other case", body: &protocol.CallInvite{To: "ALICE"}, code: protocol.CodeCallSelf},
		{name: "lookup fails", setup: func(h *harness) { h.users.err = errLookup }, body: &protocol.CallInvite{To: "dave"}, code: protocol.CodeServerUnknown},
		{
			name: "caller already calling", body: &protocol.CallInvite{To: "bob"}, code: protocol.CodeCallBusy,
			setup: func(h *harness) { h.connect("carol", "c1"); h.invite(dev("alice", "a1"), "carol", protocol.CallVoice) },
		},
		{
			name: "caller already called, from another device", body: &protocol.CallInvite{To: "bob"}, code: protocol.CodeCallBusy,
			setup: func(h *harness) {
				// Only a2 rings, so a1's invite is no glare.
				c, a2 := h.connect("carol", "c1"), h.connect("alice", "a2")
				h.net.remove(dev("alice", "a1"))
				h.invite(c, "alice", protocol.CallVoice)
				h.net.add(route.Online{Device: dev("alice", "a1")})
				h.expect(a2, incoming("call-1", "carol", "c1", protocol.CallVoice))
			},
		},
		{
			name: "caller rung by a third user", body: &protocol.CallInvite{To: "bob"}, code: protocol.CodeCallBusy,
			setup: func(h *harness) { h.invite(h.connect("carol", "c1"), "alice", protocol.CallVoice) },
		},
		{
			name: "callee offline, no push", body: &protocol.CallInvite{To: "dave", PushIfOffline: true},
			code: protocol.CodeCallRemoteOffline, record: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			a := h.connect("alice", "a1")
			h.connect("bob", "b1")
			if tc.setup != nil {
				tc.setup(h)
			}
			before := h.e.Active()
			h.fails(h.request(a, protocol.TypeCallInvite, tc.body), tc.code)
			if h.e.Active() != before {
				t.Fatal("a refused invite left a call behind")
			}
			if n := len(h.net.records()); (n == 1) != tc.record {
				t.Fatalf("%d records", n)
			}
		})
	}
}

func TestInviteWithoutIDStillGetsErrors(t *testing.T) {
	h := newHarness(t)
	a := h.connect("alice", "a1")
	handle(h.e, a, "", protocol.TypeCallInvite, &protocol.CallInvite{To: "alice"})
	msgs := h.net.take(a)
	if len(msgs) != 1 {
		t.Fatalf("messages %+v", msgs)
	}
	reply := msgs[0]
	if reply == nil || reply.Type != protocol.TypeError || reply.Error.Code != protocol.CodeCallSelf {
		t.Fatalf("reply %+v", reply)
	}
}

func TestCalleeBusy(t *testing.T) {
	h := newHarness(t)
	a, b, c := h.connect("alice", "a1"), h.connect("bob", "b1"), h.connect("carol", "c1")
	first := h.invite(b, "carol", protocol.CallVoice) // bob is busy calling carol
	h.net.take(b)
	h.net.take(c)
	id := h.invite(a, "bob", protocol.CallVideo) // the reply carries the id...
	h.expect(a, ended(id, protocol.EndBusy, "")) // ...then the call ends busy
	h.quiet()
	if id == first || h.e.Active() != 1 {
		t.Fatal("busy call left behind")
	}
	rec := h.records(1)[0]
	if rec.ID != id || rec.EndReason != protocol.EndBusy || rec.EndedBy != "" || !rec.RingingAt.IsZero() {
		t.Fatalf("record %+v", rec)
	}
	// The caller may end it again as its SDK does.
	h.end(a, id, protocol.EndHangup)
	h.quiet()
}

func TestUnsupported(t *testing.T) {
	h := newHarness(t)
	a, b := h.connect("alice", "a1"), h.connect("bob", "b1", true)
	id := h.invite(a, "bob", protocol.CallVideo)
	h.expect(a, ended(id, protocol.EndUnsupported, ""))
	h.quiet() // the voice-only device never rang
	h.settled()
	if h.endReason(0) != protocol.EndUnsupported {
		t.Fatal(h.net.records())
	}
	// A voice call rings it.
	id = h.invite(a, "bob", protocol.CallVoice)
	h.expect(b, incoming(id, "alice", "a1", protocol.CallVoice))
}

func TestVideoRingsOnlyCapableDevices(t *testing.T) {
	h := newHarness(t)
	a, b1, b2 := h.connect("alice", "a1"), h.connect("bob", "b1", true), h.connect("bob", "b2")
	id := h.invite(a, "bob", protocol.CallVideo)
	h.expect(a, ringing(id, "b2"))
	h.expect(b2, incoming(id, "alice", "a1", protocol.CallVideo))
	h.quiet()
	// The voice-only device is no party: it cannot answer, and reconnecting does not ring it.
	h.fails(h.request(b1, protocol.TypeCallAnswer, &protocol.CallRef{CallID: id}), protocol.CodeCallInvalidID)
	h.e.DeviceOnline(onlineVoice(b1), nil)
	h.quiet()
}

func TestNoResponse(t *testing.T) {
	h := newHarness(t)
	a, b1, b2, id := ringTwo(h)
	h.clk.Advance(45*time.Second - 1)
	h.quiet()
	h.clk.Advance(1)
	h.expect(a, ended(id, protocol.EndNoResponse, ""))
	h.expect(b1, ended(id, protocol.EndNoResponse, ""))
	h.expect(b2, ended(id, protocol.EndNoResponse, ""))
	h.settled()
	if rec := h.records(1)[0]; rec.EndReason != protocol.EndNoResponse || rec.EndedBy != "" {
		t.Fatalf("record %+v", rec)
	}
}

// pushHarness has a Pusher that records its calls and answers pushed.
func pushHarness(t *testing.T, pushed bool) (*harness, *[]protocol.CallIncoming) {
	var calls []protocol.CallIncoming
	h := newHarness(t, func(c *Config) {
		c.Pusher = syncPusher(func(app, callee string, inv protocol.CallIncoming, text string) bool {
			if app != "org#app" || callee != "bob" || text != "ring ring" {
				t.Errorf("Pusher(%q, %q, %q)", app, callee, text)
			}
			calls = append(calls, inv)
			return pushed
		})
	})
	return h, &calls
}

func TestRemoteOffline(t *testing.T) {
	for _, tc := range []struct {
		name      string
		pusher    bool // a Pusher is configured
		pushed    bool // it reports a push went out
		push      bool // the invite asks for a push
		wantPush  int
		wantRings bool
	}{
		{name: "no pusher", push: true},
		{name: "push not asked", pusher: true, pushed: true},
		{name: "nothing pushed", pusher: true, push: true, wantPush: 1},
		{name: "pushed", pusher: true, pushed: true, push: true, wantPush: 1, wantRings: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, pushes := pushHarness(t, tc.pushed)
			if !tc.pusher {
				h.e.cfg.Pusher = nil
			}
			a := h.connect("alice", "a1")
			reply := h.request(a, protocol.TypeCallInvite, &protocol.CallInvite{To: "bob", PushIfOffline: tc.push, OfflineText: "ring ring"})
			if len(*pushes) != tc.wantPush {
				t.Fatalf("%d pushes, want %d", len(*pushes), tc.wantPush)
			}
			if tc.wantPush == 1 && !tc.wantRings { // answered at once; the failed push ends it
				id := callID(t, h.ok(reply))
				h.expect(a, ended(id, protocol.EndRemoteOffline, ""))
				h.quiet()
				h.settled()
				if rec := h.records(1)[0]; rec.EndReason != protocol.EndRemoteOffline || rec.Callee != "bob" {
					t.Fatalf("record %+v", rec)
				}
				return
			}
			if !tc.wantRings {
				h.fails(reply, protocol.CodeCallRemoteOffline)
				h.quiet()
				h.settled()
				if rec := h.records(1)[0]; rec.EndReason != protocol.EndRemoteOffline || rec.Callee != "bob" {
					t.Fatalf("record %+v", rec)
				}
				return
			}
			id := callID(t, h.ok(reply))
			if want := (protocol.CallIncoming{CallID: id, From: "alice", FromDevice: "a1"}); !reflect.DeepEqual((*pushes)[0], want) {
				t.Fatalf("pushed %+v", (*pushes)[0])
			}
			h.expect(a, m(protocol.TypeCallOffline, protocol.CallOffline{CallID: id, To: "bob"}))
			h.clk.Advance(45 * time.Second) // nobody comes
			h.expect(a, ended(id, protocol.EndNoResponse, ""))
			h.settled()
			if rec := h.records(1)[0]; rec.EndReason != protocol.EndNoResponse || !rec.RingingAt.IsZero() {
				t.Fatalf("record %+v", rec)
			}
		})
	}
}

func TestPushedCalleeComesOnlineAndAnswers(t *testing.T) {
	h, _ := pushHarness(t, true)
	a := h.connect("alice", "a1")
	id := callID(t, h.ok(h.request(a, protocol.TypeCallInvite, &protocol.CallInvite{To: "bob", PushIfOffline: true, OfflineText: "ring ring"})))
	h.expect(a, m(protocol.TypeCallOffline, protocol.CallOffline{CallID: id, To: "bob"}))
	h.clk.Advance(20 * time.Second)
	b := h.connect("bob", "b1") // woken by the push
	h.expect(b, incoming(id, "alice", "a1", protocol.CallVoice))
	h.expect(a, ringing(id, "b1"))
	h.answer(b, id)
	h.expect(a, accepted(id, "b1"))
	h.expect(b, accepted(id, "b1"))
	h.clk.Advance(45 * time.Second) // the ring timer was stopped
	h.quiet()
	h.end(b, id, protocol.EndHangup)
	h.expect(a, ended(id, protocol.EndHangup, "bob"))
	h.settled()
	if rec := h.records(1)[0]; !rec.RingingAt.Equal(t0.Add(20*time.Second)) || rec.CalleeDevice != "b1" {
		t.Fatalf("record %+v", rec)
	}
}

// A callee device that connects while the Pusher runs is rung once the push is done, and the
// caller still gets its reply first.
func TestCalleeConnectsDuringPush(t *testing.T) {
	var h *harness
	h = newHarness(t, func(c *Config) {
		c.Pusher = syncPusher(func(string, string, protocol.CallIncoming, string) bool {
			h.connect("bob", "b1")
			return true
		})
	})
	a := h.connect("alice", "a1")
	id := callID(t, h.ok(h.request(a, protocol.TypeCallInvite, &protocol.CallInvite{To: "bob", PushIfOffline: true})))
	h.expect(a, ringing(id, "b1"))
	h.expect(dev("bob", "b1"), incoming(id, "alice", "a1", protocol.CallVoice))
	h.quiet()
}

func TestRecordHasEveryField(t *testing.T) {
	ice := func(app, user, id string) []protocol.ICEServer {
		return []protocol.ICEServer{{URLs: []string{"turn:x"}, Username: user + "@" + id, Credential: app}}
	}
	h := newHarness(t, func(c *Config) { c.ICEServers = ice })
	a, b := h.connect("alice", "a1"), h.connect("bob", "b1")
	reply := h.request(a, protocol.TypeCallInvite, &protocol.CallInvite{
		To: "Bob", Type: protocol.CallVideo, Ext: `{"nick":"A"}`, Record: true, MergeStream: true,
	})
	var inv protocol.CallInvited
	if err := json.Unmarshal(h.ok(reply), &inv); err != nil {
		t.Fatal(err)
	}
	id := inv.CallID
	if want := (protocol.CallInvited{CallID: id, ICEServers: ice(app, "alice", id)}); !reflect.DeepEqual(inv, want) {
		t.Fatalf("invited %+v", inv)
	}
	h.expect(a, ringing(id, "b1"))
	h.expect(b, m(protocol.TypeCallIncoming, protocol.CallIncoming{
		CallID: id, From: "alice", FromDevice: "a1", Type: protocol.CallVideo, Ext: `{"nick":"A"}`,
		Record: true, ICEServers: ice(app, "bob", id),
	}))
	h.clk.Advance(time.Second)
	h.do(b, protocol.TypeCallConnect, &protocol.CallConnect{CallID: id, ConnectType: protocol.ConnectRelay})
	h.clk.Advance(time.Second)
	h.do(a, protocol.TypeCallConnect, &protocol.CallConnect{CallID: id, ConnectType: protocol.ConnectDirect})
	h.clk.Advance(time.Second)
	h.answer(b, id)
	h.clk.Advance(time.Minute)
	h.end(a, id, protocol.EndHangup)
	h.settled()
	want := Record{
		ID: id, App: app, Caller: "alice", CallerDevice: "a1", Callee: "bob", CalleeDevice: "b1",
		Type: protocol.CallVideo, Ext: `{"nick":"A"}`, Record: true, MergeStream: true,
		InvitedAt: t0, RingingAt: t0, ConnectedAt: t0.Add(time.Second), AcceptedAt: t0.Add(3 * time.Second),
		EndedAt: t0.Add(63 * time.Second), EndReason: protocol.EndHangup, EndedBy: "alice",
		ConnectType: protocol.ConnectDirect,
	}
	if got := h.records(1)[0]; !reflect.DeepEqual(got, want) {
		t.Fatalf("record\n got %+v\nwant %+v", got, want)
	}
}

func callID(t *testing.T, data json.RawMessage) string {
	t.Helper()
	var inv protocol.CallInvited
	if err := json.Unmarshal(data, &inv); err != nil || inv.CallID == "" {
		t.Fatalf("invite reply %s: %v", data, err)
	}
	return inv.CallID
}

// TestInviteAnsweredBeforePush: the invite of a pushed call is answered at once, without
// waiting for the Pusher, so the caller can cancel while the push is under way; the push's
// result then changes nothing. A result that comes while the call still waits rings it.
func TestInviteAnsweredBeforePush(t *testing.T) {
	var done []func(bool)
	h := newHarness(t, func(c *Config) {
		c.Pusher = func(_, _ string, _ protocol.CallIncoming, _ string, d func(bool)) { done = append(done, d) }
	})
	a := h.connect("alice", "a1")
	id := callID(t, h.ok(h.request(a, protocol.TypeCallInvite, &protocol.CallInvite{To: "bob", PushIfOffline: true})))
	if len(done) != 1 {
		t.Fatalf("%d pushes started", len(done))
	}
	h.quiet()
	h.end(a, id, protocol.EndHangup) // the caller cancels during the push
	done[0](true)
	h.quiet()
	h.settled()
	if rec := h.records(1)[0]; rec.EndReason != protocol.EndHangup {
		t.Fatalf("record %+v", rec)
	}

	id = callID(t, h.ok(h.request(a, protocol.TypeCallInvite, &protocol.CallInvite{To: "bob", PushIfOffline: true})))
	h.quiet()
	done[1](true)
	h.expect(a, m(protocol.TypeCallOffline, protocol.CallOffline{CallID: id, To: "bob"}))
	h.clk.Advance(45 * time.Second)
	h.expect(a, ended(id, protocol.EndNoResponse, ""))
}

// TestOnlineCalleeNeedsNoLookup: a callee with a connected device exists (it authenticated
// with the user's token): the invite rings it without asking the store, which here fails.
func TestOnlineCalleeNeedsNoLookup(t *testing.T) {
	h := newHarness(t)
	a, b := h.connect("alice", "a1"), h.connect("bob", "b1")
	h.users.err = errLookup
	h.invite(a, "bob", protocol.CallVoice)
	h.expect(b, incoming("call-1", "alice", "a1", protocol.CallVoice))
}
