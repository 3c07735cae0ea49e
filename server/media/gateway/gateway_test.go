package gateway

import (
	"encoding/json"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/duet-rtc/duet/internal/leaktest"
	"github.com/duet-rtc/duet/internal/rtc"
	"github.com/duet-rtc/duet/protocol"
	"github.com/duet-rtc/duet/server/callflow"
	"github.com/duet-rtc/duet/server/media/relay"
	"github.com/duet-rtc/duet/server/recording"
	"github.com/duet-rtc/duet/server/route"
	"github.com/duet-rtc/duet/server/store/sqlite"
)

// fakeCalls knows one recorded call c1 (alice's device a1 calls bob, ringing b1) and one
// unrecorded call c2 of the same devices.
type fakeCalls struct{}

func (fakeCalls) Party(dev route.Device, id string) (callflow.Party, bool) {
	p := callflow.Party{CallID: id, App: "o#a", Caller: "alice", Callee: "bob", Type: protocol.CallVideo, Record: id == "c1"}
	switch {
	case id != "c1" && id != "c2":
		return p, false
	case dev.User == "alice" && dev.ID == "a1":
		p.IsCaller = true
	case dev.User == "bob" && dev.ID == "b1":
	default:
		return p, false
	}
	return p, true
}

func (fakeCalls) Answered(app, id string) string { return "b1" }

// sent records what the gateway sends devices.
type sent struct {
	mu   sync.Mutex
	msgs map[route.Device][]*protocol.Envelope
}

func (s *sent) Send(to route.Device, env *protocol.Envelope) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs[to] = append(s.msgs[to], env)
	return true
}

func (s *sent) count(d route.Device) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.msgs[d])
}

func newGateway(t *testing.T) (*Gateway, *sent) {
	t.Helper()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	rel, err := relay.New(relay.Config{LoopbackOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	recs, err := recording.New(st, recording.Config{Dir: t.TempDir(), FFmpeg: "none", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	snd := &sent{msgs: map[route.Device][]*protocol.Envelope{}}
	g := New(Config{Relay: rel, Recordings: recs, Calls: fakeCalls{}, Sender: snd, Logger: slog.New(slog.DiscardHandler)})
	t.Cleanup(func() { g.Close(); rel.Close(); recs.Close() })
	return g, snd
}

func offer(t *testing.T) (protocol.SessionDescription, *rtc.Peer) {
	t.Helper()
	p, err := rtc.NewPeer(rtc.Config{LoopbackOnly: true, Audio: true, Video: true}, rtc.Events{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	o, err := p.CreateOffer()
	if err != nil {
		t.Fatal(err)
	}
	return o, p
}

func request(g *Gateway, d route.Device, m protocol.CallMedia) *protocol.Envelope {
	return g.HandleMessage(d, protocol.NewMessage(protocol.TypeCallMedia, "r1", &m))
}

func code(env *protocol.Envelope) protocol.ErrorCode {
	if env == nil || env.Error == nil {
		return 0
	}
	return env.Error.Code
}

func TestGateway(t *testing.T) {
	leaktest.Check(t)
	g, snd := newGateway(t)
	a1 := route.Device{App: "o#a", User: "alice", ID: "a1"}
	b1 := route.Device{App: "o#a", User: "bob", ID: "b1"}
	carol := route.Device{App: "o#a", User: "carol", ID: "c"}
	o, _ := offer(t)

	if c := code(request(g, carol, protocol.CallMedia{CallID: "c1", Description: &o})); c != protocol.CodeCallInvalidID {
		t.Errorf("a stranger's offer: code %d", c)
	}
	if c := code(request(g, a1, protocol.CallMedia{CallID: "c2", Description: &o})); c != protocol.CodeCallInvalidID {
		t.Errorf("an offer for an unrecorded call: code %d", c)
	}
	if c := code(request(g, a1, protocol.CallMedia{CallID: "c1", Description: &protocol.SessionDescription{Type: "answer", SDP: "x"}})); c != protocol.CodeBadMessage {
		t.Errorf("an answer from a device: code %d", c)
	}
	if c := code(request(g, a1, protocol.CallMedia{CallID: "c1", Description: &protocol.SessionDescription{Type: "offer", SDP: "garbage"}})); c != protocol.CodeBadMessage {
		t.Errorf("a garbage offer: code %d", c)
	}
	if g.Active() != 1 {
		t.Errorf("active %d", g.Active())
	}
	var replies [2]protocol.CallMedia
	for i, d := range []route.Device{a1, b1} {
		o, _ := offer(t)
		env := request(g, d, protocol.CallMedia{CallID: "c1", Description: &o})
		if env.Error != nil {
			t.Fatalf("%s's offer: %v", d.User, env.Error)
		}
		if err := json.Unmarshal(env.Data, &replies[i]); err != nil {
			t.Fatal(err)
		}
		if replies[i].Description == nil || replies[i].Description.Type != "answer" || replies[i].ServerVideoID == "" {
			t.Fatalf("reply %+v", replies[i])
		}
	}
	if replies[0].ServerVideoID != replies[1].ServerVideoID {
		t.Fatalf("serverVideoIds differ: %q %q", replies[0].ServerVideoID, replies[1].ServerVideoID)
	}
	// The relay's candidates go to the device that offered.
	deadline := time.Now().Add(10 * time.Second)
	for snd.count(a1) == 0 || snd.count(b1) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no relay candidates sent")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if c := code(g.HandleMessage(a1, protocol.NewMessage(protocol.TypeCallMedia, "", &protocol.CallMedia{CallID: "c1",
		Candidate: &protocol.ICECandidate{Candidate: "candidate:1 1 udp 2130706431 127.0.0.1 40000 typ host"}}))); c != 0 {
		t.Errorf("a candidate: code %d", c)
	}
	if svid := g.CallEnded("o#a", "c1"); svid != replies[0].ServerVideoID {
		t.Errorf("CallEnded returned %q", svid)
	}
	if c := code(request(g, a1, protocol.CallMedia{CallID: "c1", Description: &o})); c != protocol.CodeCallInvalidID {
		t.Errorf("an offer after the end: code %d", c)
	}
	if g.CallEnded("o#a", "c1") != "" || g.Active() != 0 {
		t.Error("a second CallEnded found media")
	}
}
