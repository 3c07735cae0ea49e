package relay

import (
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"

	"github.com/duet-rtc/duet/internal/udpbatch"
)

// vp8 returns a VP8 RTP payload: the first packet of a keyframe, of an interframe, or a
// packet continuing a frame.
func vp8(start, key bool) []byte {
	desc := byte(0)
	if start {
		desc = 0x10 // S=1, PID=0
	}
	tag := byte(0x01) // interframe
	if key {
		tag = 0x00
	}
	return []byte{desc, tag, 0x02, 0x03, 0x04}
}

// TestHeldVideo: a leg without keys keeps video from a keyframe's first packet on, notes
// what it could not keep, and gives up (lost) beyond maxHeld packets.
func TestHeldVideo(t *testing.T) {
	testCases := []struct {
		name     string
		payloads [][]byte
		held     int
		lost     bool
	}{
		{"nothing", nil, 0, false},
		{"interframes only", [][]byte{vp8(true, false), vp8(false, false)}, 0, true},
		{"keyframe and the rest", [][]byte{vp8(true, true), vp8(false, false), vp8(true, false)}, 3, false},
		{"loss before a keyframe is forgiven", [][]byte{vp8(true, false), vp8(true, true), vp8(false, false)}, 2, false},
		{"a newer keyframe starts over", [][]byte{vp8(true, true), vp8(false, false), vp8(true, true)}, 1, false},
		{"not VP8", [][]byte{{}}, 0, true},
	}
	for _, tc := range testCases {
		var h heldVideo
		for i, p := range tc.payloads {
			h.add(p, []byte{byte(i)})
		}
		pkts, lost := h.take()
		if len(pkts) != tc.held || lost != tc.lost {
			t.Errorf("%s: got %d held, lost %v, expected %d, %v", tc.name, len(pkts), lost, tc.held, tc.lost)
		}
		if pkts, lost := h.take(); len(pkts) != 0 || lost {
			t.Errorf("%s: take did not empty", tc.name)
		}
	}
	var h heldVideo
	h.add(vp8(true, true), []byte{1})
	for range maxHeld {
		h.add(vp8(false, false), []byte{2})
	}
	if pkts, lost := h.take(); len(pkts) != 0 || !lost {
		t.Errorf("over maxHeld: got %d held, lost %v, expected 0, true", len(pkts), lost)
	}
}

// testKeys makes SRTP contexts that open what each other seals.
func testKeys(t *testing.T, b byte) (seal, open *srtp.Context) {
	t.Helper()
	key, salt := make([]byte, 16), make([]byte, 14)
	key[0], salt[0] = b, b
	var err error
	if seal, err = srtp.CreateContext(key, salt, srtp.ProtectionProfileAes128CmHmacSha1_80); err != nil {
		t.Fatal(err)
	}
	if open, err = srtp.CreateContext(key, salt, srtp.ProtectionProfileAes128CmHmacSha1_80); err != nil {
		t.Fatal(err)
	}
	return seal, open
}

// testLeg is a leg of call c whose device is a UDP socket of the test's, and that socket.
func testLeg(t *testing.T, c *Call, side Side) (*leg, *net.UDPConn) {
	t.Helper()
	dev, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dev.Close() })
	l := &leg{c: c, side: side, device: side.String()}
	l.outSSRC[Video].Store(1000 + uint32(side))
	l.outPT[Video].Store(96)
	l.path.Store(&path{sock: c.r.router.conns[0].socks[0], addr: dev.LocalAddr().(*net.UDPAddr).AddrPort()})
	return l, dev
}

// looseSocket is a relay socket nobody reads, to hand the packet path datagrams as its
// reader would.
func looseSocket(t *testing.T) *mediaSocket {
	t.Helper()
	uc, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { uc.Close() })
	return &mediaSocket{Conn: udpbatch.New(uc), scratch: newScratch()}
}

// readRTP reads one SRTP packet from dev and opens it.
func readRTP(t *testing.T, dev *net.UDPConn, open *srtp.Context) rtp.Header {
	t.Helper()
	buf := make([]byte, 1500)
	_ = dev.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, err := dev.Read(buf)
	if err != nil {
		t.Fatalf("no packet: %v", err)
	}
	var h rtp.Header
	if _, err := open.DecryptRTP(nil, buf[:n], &h); err != nil {
		t.Fatalf("cannot open: %v", err)
	}
	return h
}

// TestHeldVideoSentWhenKeysCome: video forwarded to a leg before it has keys (its device
// is up, the relay has not taken the keys yet) reaches the device when they come, from the
// keyframe on and in order, and later video follows it. That keyframe was the 1-second
// first-frame stall of recorded calls.
func TestHeldVideoSentWhenKeysCome(t *testing.T) {
	r, err := New(Config{LoopbackOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	c, _, err := r.Open("held", CallConfig{Video: true})
	if err != nil {
		t.Fatal(err)
	}
	l, dev := testLeg(t, c, Callee)
	from := &mediaSocket{scratch: newScratch()} // another socket's reader
	send := func(seq uint16, payload []byte) {
		pkt := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 100, SequenceNumber: seq, SSRC: 7}, Payload: payload}
		if !l.sendRTP(from, Video, pkt) && len(l.held.pkts) > 0 {
			t.Fatalf("packet %d not taken", seq)
		}
	}
	send(9, vp8(true, false)) // an interframe nobody can decode: dropped
	send(10, vp8(true, true))
	send(11, vp8(false, true))
	send(12, vp8(true, false))
	seal, open := testKeys(t, 1)
	_, remote := testKeys(t, 2)
	l.useKeys(seal, remote)
	send(13, vp8(true, false))
	for _, want := range []uint16{10, 11, 12, 13} {
		h := readRTP(t, dev, open)
		if h.SequenceNumber != want || h.SSRC != 1000+uint32(Callee) || h.PayloadType != 96 {
			t.Fatalf("got seq %d ssrc %d pt %d, expected seq %d as the relay's stream", h.SequenceNumber, h.SSRC, h.PayloadType, want)
		}
	}
	if st := r.Stats(); st.Held != 3 {
		t.Errorf("Held = %d, expected 3", st.Held)
	}
}

// TestKeyframeRequestsWaitForKeys: a keyframe request the relay could not send a leg
// without keys is sent when the keys come, and video lost for want of a keyframe to hold
// becomes a keyframe request to its sender.
func TestKeyframeRequestsWaitForKeys(t *testing.T) {
	r, err := New(Config{LoopbackOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	c, _, err := r.Open("pli", CallConfig{Video: true})
	if err != nil {
		t.Fatal(err)
	}
	caller, callerDev := testLeg(t, c, Caller)
	callee, calleeDev := testLeg(t, c, Callee)
	caller.inSSRC[Video].Store(11)
	callee.inSSRC[Video].Store(22)
	c.active[Caller].Store(caller)
	c.active[Callee].Store(callee)

	callee.requestKeyframe(false) // no keys yet: kept
	from := &mediaSocket{scratch: newScratch()}
	pkt := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 100, SequenceNumber: 1, SSRC: 11}, Payload: vp8(true, false)}
	callee.sendRTP(from, Video, pkt) // the caller's interframe, lost

	callerSeal, callerOpen := testKeys(t, 3)
	_, callerRemote := testKeys(t, 4)
	caller.useKeys(callerSeal, callerRemote)
	calleeSeal, calleeOpen := testKeys(t, 5)
	_, calleeRemote := testKeys(t, 6)
	callee.useKeys(calleeSeal, calleeRemote)

	for _, d := range []struct {
		name string
		dev  *net.UDPConn
		open *srtp.Context
		ssrc uint32
	}{{"callee", calleeDev, calleeOpen, 22}, {"caller", callerDev, callerOpen, 11}} {
		buf := make([]byte, 1500)
		_ = d.dev.SetReadDeadline(time.Now().Add(10 * time.Second))
		n, err := d.dev.Read(buf)
		if err != nil {
			t.Fatalf("%s: no keyframe request: %v", d.name, err)
		}
		plain, err := d.open.DecryptRTCP(nil, buf[:n], nil)
		if err != nil {
			t.Fatalf("%s: cannot open: %v", d.name, err)
		}
		pkts, err := rtcp.Unmarshal(plain)
		if err != nil || len(pkts) != 1 {
			t.Fatalf("%s: %v %v", d.name, pkts, err)
		}
		if pli, ok := pkts[0].(*rtcp.PictureLossIndication); !ok || pli.MediaSSRC != d.ssrc {
			t.Errorf("%s: got %v, expected a PLI for %d", d.name, pkts[0], d.ssrc)
		}
	}
}

// TestEarlyMediaForwardedWhenKeysCome: what a device sends before the relay has its leg's
// keys (its first keyframe, as the call is answered) is forwarded, before what follows it,
// once the keys have come.
func TestEarlyMediaForwardedWhenKeysCome(t *testing.T) {
	r, err := New(Config{LoopbackOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	c, _, err := r.Open("early", CallConfig{Video: true})
	if err != nil {
		t.Fatal(err)
	}
	caller, _ := testLeg(t, c, Caller)
	callee, calleeDev := testLeg(t, c, Callee)
	caller.kindOfPT[100] = int8(Video)
	c.active[Caller].Store(caller)
	c.active[Callee].Store(callee)
	calleeSeal, calleeOpen := testKeys(t, 1)
	_, calleeRemote := testKeys(t, 2)
	callee.useKeys(calleeSeal, calleeRemote)

	devSeal, relayOpen := testKeys(t, 3) // the caller's device's keys
	from := looseSocket(t)
	sendFromDevice := func(seq uint16, payload []byte) {
		raw, err := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 100, SequenceNumber: seq, SSRC: 7}, Payload: payload}).Marshal()
		if err != nil {
			t.Fatal(err)
		}
		sealed, err := devSeal.EncryptRTP(nil, raw, nil)
		if err != nil {
			t.Fatal(err)
		}
		caller.receive(from, sealed)
	}
	sendFromDevice(1, vp8(true, true)) // before the relay has the caller's keys
	sendFromDevice(2, vp8(false, true))
	callerSeal, _ := testKeys(t, 4)
	caller.useKeys(callerSeal, relayOpen)
	sendFromDevice(3, vp8(true, false))
	for _, want := range []uint16{1, 2, 3} {
		if h := readRTP(t, calleeDev, calleeOpen); h.SequenceNumber != want {
			t.Fatalf("got seq %d, expected %d", h.SequenceNumber, want)
		}
	}
}

// TestUnsentVideo: a leg keeps its video that went nowhere from the latest keyframe, and
// gives it up once that keyframe is older than maxUnsentAge.
func TestUnsentVideo(t *testing.T) {
	t0 := time.Unix(1000, 0)
	var u unsentVideo
	u.add(vp8(true, true), []byte{1}, t0)
	u.add(vp8(true, false), []byte{2}, t0.Add(30*time.Millisecond))
	if got := u.take(t0.Add(maxUnsentAge)); len(got) != 2 {
		t.Errorf("fresh: got %d packets, expected 2", len(got))
	}
	u.add(vp8(true, true), []byte{1}, t0)
	if got := u.take(t0.Add(maxUnsentAge + time.Millisecond)); len(got) != 0 || len(u.pkts) != 0 {
		t.Errorf("stale: got %d packets, %d kept, expected none", len(got), len(u.pkts))
	}
}

// TestUnsentVideoForwardedAtAnswer: the keyframe a caller sends just before the relay
// learns the call is answered reaches the callee first once it does, and the Tap sees it.
func TestUnsentVideoForwardedAtAnswer(t *testing.T) {
	r, err := New(Config{LoopbackOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var answered atomic.Value
	answered.Store("")
	tp := &tap{}
	c, _, err := r.Open("unsent", CallConfig{Video: true, Tap: tp, Active: func() string { return answered.Load().(string) }})
	if err != nil {
		t.Fatal(err)
	}
	caller, _ := testLeg(t, c, Caller)
	callee, calleeDev := testLeg(t, c, Callee)
	caller.kindOfPT[100] = int8(Video)
	for _, l := range []*leg{caller, callee} {
		seal, _ := testKeys(t, 9)
		_, remote := testKeys(t, byte(l.side)+1)
		l.useKeys(seal, remote)
	}
	_, calleeOpen := testKeys(t, 9)
	c.active[Caller].Store(caller)
	c.mu.Lock()
	c.legs[legKey{Caller, "caller"}] = caller
	c.legs[legKey{Callee, "callee"}] = callee
	c.mu.Unlock()
	defer func() { // these legs have no peer connection to close
		c.mu.Lock()
		c.legs = map[legKey]*leg{}
		c.mu.Unlock()
	}()

	from := looseSocket(t)
	devSeal, _ := testKeys(t, 1) // opens with the caller leg's remote context
	sendFromDevice := func(seq uint16, payload []byte) {
		raw, _ := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 100, SequenceNumber: seq, SSRC: 7}, Payload: payload}).Marshal()
		sealed, err := devSeal.EncryptRTP(nil, raw, nil)
		if err != nil {
			t.Fatal(err)
		}
		caller.receive(from, sealed)
	}
	sendFromDevice(1, vp8(true, true)) // ringing: goes nowhere
	answered.Store("callee")
	c.nextResolve[Caller].Store(0) // the relay asks again at once (it would within activeRetry)
	sendFromDevice(2, vp8(true, false))
	for _, want := range []uint16{1, 2} {
		if h := readRTP(t, calleeDev, calleeOpen); h.SequenceNumber != want {
			t.Fatalf("got seq %d, expected %d", h.SequenceNumber, want)
		}
	}
	if n := tp.packets[Caller][Video].Load(); n != 2 {
		t.Errorf("Tap saw %d caller video packets, expected 2", n)
	}
	if st := r.Stats(); st.Unsent != 1 {
		t.Errorf("Unsent = %d, expected 1", st.Unsent)
	}
}
