package relay

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"

	"github.com/duet-rtc/duet/internal/leaktest"
	"github.com/duet-rtc/duet/internal/rtc"
	"github.com/duet-rtc/duet/media"
	"github.com/duet-rtc/duet/protocol"
)

const (
	testIVF = "../../../testdata/media/pattern-320x240.ivf"
	testOgg = "../../../testdata/media/tone-440.ogg"
)

// device is an SDK peer connected to the relay, with counting sinks.
type device struct {
	peer         *rtc.Peer
	audio, video *media.FrameCounter
	connected    chan struct{}
	legUp        chan struct{}
}

// tap counts what the relay shows it.
type tap struct {
	packets [2][2]atomic.Int64 // by side, kind
	reports atomic.Int64
}

func (t *tap) RTP(side Side, kind Kind, pkt *rtp.Packet, at time.Time) { t.packets[side][kind].Add(1) }
func (t *tap) SenderReport(side Side, kind Kind, sr *rtcp.SenderReport, at time.Time) {
	t.reports.Add(1)
}

// join connects a new SDK peer to call c as (side, dev): the device offers, the relay
// answers, candidates trickle both ways.
func join(t *testing.T, c *Call, side Side, dev string) *device {
	t.Helper()
	d := &device{
		audio: media.NewFrameCounter(media.CodecOpus, nil), video: media.NewFrameCounter(media.CodecVP8, nil),
		connected: make(chan struct{}), legUp: make(chan struct{}),
	}
	var once, legOnce sync.Once
	var p *rtc.Peer
	p, err := rtc.NewPeer(rtc.Config{LoopbackOnly: true, Audio: true, Video: true}, rtc.Events{
		OnLocalCandidate: func(cand protocol.ICECandidate) { _ = c.AddCandidate(side, dev, cand) },
		OnConnected:      func(protocol.ConnectType) { once.Do(func() { close(d.connected) }) },
	})
	if err != nil {
		t.Fatal(err)
	}
	d.peer = p
	t.Cleanup(func() { p.Close() })
	p.SetSinks(d.audio, d.video)
	offer, err := p.CreateOffer()
	if err != nil {
		t.Fatal(err)
	}
	answer, err := c.Offer(side, dev, offer, LegEvents{
		OnCandidate: func(cand protocol.ICECandidate) { _ = p.AddCandidate(cand) },
		OnConnected: func() { legOnce.Do(func() { close(d.legUp) }) },
	})
	if err != nil {
		t.Fatalf("Offer: %v", err)
	}
	if _, err := p.HandleDescription(answer); err != nil {
		t.Fatalf("answer: %v", err)
	}
	return d
}

func (d *device) waitConnected(t *testing.T) {
	t.Helper()
	for _, ch := range []chan struct{}{d.connected, d.legUp} {
		select {
		case <-ch:
		case <-time.After(20 * time.Second):
			t.Fatal("not connected within 20 s")
		}
	}
}

func (d *device) send(t *testing.T) {
	t.Helper()
	a, err := media.OpenOgg(testOgg)
	if err != nil {
		t.Fatal(err)
	}
	v, err := media.OpenIVF(testIVF)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.peer.StartSending(a, v); err != nil {
		t.Fatal(err)
	}
}

func waitFrames(t *testing.T, what string, c *media.FrameCounter, n int) media.CounterStats {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	st, err := c.Wait(ctx, func(st media.CounterStats) bool { return st.Frames >= n })
	if err != nil {
		t.Fatalf("%s: %v (stats %+v)", what, err, c.Stats())
	}
	return st
}

// TestRelayForwards: two devices pre-connect to the relay, nothing flows until they send,
// then audio and video reach each side, starting with a keyframe, and the tap sees both
// parties. Close leaves no goroutine behind.
func TestRelayForwards(t *testing.T) { testRelayForwards(t, Config{LoopbackOnly: true}) }

// TestRelayForwardsOnePort is TestRelayForwards on a port given by Config (PortMin=PortMax).
func TestRelayForwardsOnePort(t *testing.T) {
	ln, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := uint16(ln.LocalAddr().(*net.UDPAddr).Port)
	ln.Close()
	testRelayForwards(t, Config{LoopbackOnly: true, PortMin: port, PortMax: port})
}

// TestRelayForwardsTwoReaders is TestRelayForwards with two sockets on the port, each with
// a reader of its own.
func TestRelayForwardsTwoReaders(t *testing.T) {
	testRelayForwards(t, Config{LoopbackOnly: true, Readers: 2})
}

func testRelayForwards(t *testing.T, cfg Config) {
	leaktest.Check(t)
	r, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	tp := &tap{}
	var active atomic.Value
	active.Store("")
	c, created, err := r.Open("call-1", CallConfig{Audio: true, Video: true, Tap: tp, Active: func() string { return active.Load().(string) }})
	if err != nil || !created {
		t.Fatalf("Open: %v %v", created, err)
	}
	caller := join(t, c, Caller, "a1")
	callee := join(t, c, Callee, "b1")
	other := join(t, c, Callee, "b2") // a second ringing device, which loses
	caller.waitConnected(t)
	callee.waitConnected(t)
	other.waitConnected(t)
	if c.Legs() != 3 {
		t.Fatalf("legs %d", c.Legs())
	}
	active.Store("b1") // b1 answers
	caller.send(t)
	callee.send(t)
	for name, fc := range map[string]*media.FrameCounter{"callee audio": callee.audio, "callee video": callee.video, "caller audio": caller.audio, "caller video": caller.video} {
		st := waitFrames(t, name, fc, 20)
		if fc == callee.video || fc == caller.video {
			if !st.StartedWithKeyframe || st.Width != 320 {
				t.Errorf("%s: %+v", name, st)
			}
		}
	}
	if n := other.audio.Stats().Packets; n != 0 {
		t.Errorf("the losing device got %d packets", n)
	}
	deadline := time.Now().Add(10 * time.Second)
	for c.Legs() != 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if c.Legs() != 2 {
		t.Errorf("the losing leg was not closed: %d legs", c.Legs())
	}
	for s := range 2 {
		for k := range 2 {
			if tp.packets[s][k].Load() == 0 {
				t.Errorf("tap saw no %v packets of the %v", Kind(k), Side(s))
			}
		}
	}
	if st := r.Stats(); st.PacketsOut == 0 || st.Calls != 1 {
		t.Errorf("stats %+v", st)
	}
	c.Close()
	if st := r.Stats(); st.Calls != 0 || st.Legs != 0 {
		t.Errorf("after close: %+v", st)
	}
	for _, d := range []*device{caller, callee, other} {
		d.peer.Close()
	}
}

// TestRelayRejects: bad offers and unknown legs are errors, not panics.
func TestRelayRejects(t *testing.T) {
	leaktest.Check(t)
	r, err := New(Config{LoopbackOnly: true, MaxLegsPerCall: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, _, err := r.Open("x", CallConfig{}); err == nil {
		t.Fatal("a call with no media kind opened")
	}
	c, _, err := r.Open("x", CallConfig{Audio: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, sdp := range []string{"garbage", "v=0\r\n", "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"} {
		if _, err := c.Offer(Caller, "a", protocol.SessionDescription{Type: "offer", SDP: sdp}, LegEvents{}); err == nil {
			t.Errorf("offer %q answered", sdp)
		}
	}
	if err := c.AddCandidate(Caller, "nobody", protocol.ICECandidate{Candidate: "candidate:1 1 udp 1 127.0.0.1 9 typ host"}); err == nil {
		t.Error("candidate for an unknown leg accepted")
	}
	if c.Legs() != 0 {
		t.Errorf("failed offers left %d legs", c.Legs())
	}
	r.Close()
	if _, _, err := r.Open("y", CallConfig{Audio: true}); err != ErrClosed {
		t.Errorf("Open after Close: %v", err)
	}
}
