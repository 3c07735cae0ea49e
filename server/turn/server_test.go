package turn

import (
	"bytes"
	"fmt"
	"log/slog"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/duet-rtc/duet/internal/clock"
)

// relayRoundTrip sends one packet from the client through its relay to a peer socket, then
// n packets back from the peer, and checks they all arrive.
func relayRoundTrip(t *testing.T, relay net.PacketConn, n int) {
	t.Helper()
	peer := peerSocket(t)
	if _, err := relay.WriteTo([]byte("hello peer"), peer.LocalAddr()); err != nil {
		t.Fatalf("relay write: %v", err)
	}
	buf := make([]byte, 1500)
	_ = peer.SetReadDeadline(time.Now().Add(5 * time.Second))
	k, from, err := peer.ReadFromUDP(buf)
	if err != nil || string(buf[:k]) != "hello peer" {
		t.Fatalf("peer read: %q %v", buf[:k], err)
	}
	if from.String() != relay.LocalAddr().String() {
		t.Fatalf("packet came from %v, want the relay address %v", from, relay.LocalAddr())
	}
	go func() {
		for i := range n {
			_, _ = peer.WriteToUDP([]byte(fmt.Sprintf("packet %04d", i)), from)
			if i%50 == 49 {
				time.Sleep(time.Millisecond) // stay within socket buffers
			}
		}
	}()
	_ = relay.SetReadDeadline(time.Now().Add(5 * time.Second))
	for i := range n {
		k, src, err := relay.ReadFrom(buf)
		if err != nil {
			t.Fatalf("relay read %d of %d: %v", i, n, err)
		}
		if src.String() != peer.LocalAddr().String() || !bytes.HasPrefix(buf[:k], []byte("packet ")) {
			t.Fatalf("relay read %q from %v", buf[:k], src)
		}
	}
}

func TestRelayBetweenUDPSockets(t *testing.T) {
	reg := prometheus.NewRegistry()
	s := startServer(t, func(c *Config) { c.Metrics = reg })
	_, relay, err := allocate(t, s, "alice")
	if err != nil {
		t.Fatalf("allocate: %v", err)
	}
	if ip := relay.LocalAddr().(*net.UDPAddr).IP; !ip.Equal(net.IPv4(127, 0, 0, 1)) {
		t.Fatalf("relay address %v is not on the relay IP", relay.LocalAddr())
	}
	relayRoundTrip(t, relay, 200)
	if got := s.Allocations(); got != 1 {
		t.Fatalf("allocations %d, want 1", got)
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			key := f.GetName()
			for _, l := range m.GetLabel() {
				key += "/" + l.GetValue()
			}
			got[key] = m.GetGauge().GetValue() + m.GetCounter().GetValue()
		}
	}
	if got["duet_turn_allocations"] != 1 || got["duet_turn_relayed_packets_total/to_client"] < 200 ||
		got["duet_turn_relayed_packets_total/to_peer"] < 1 {
		t.Fatalf("metrics %v", got)
	}
	if tr := s.relays.total(); tr.toClientPackets < 200 || tr.toPeerPackets < 1 || tr.toClientBytes < 200*11 {
		t.Fatalf("traffic %+v", tr)
	}
}

func TestRelayOverTCP(t *testing.T) {
	s := startServer(t)
	ice := s.ICEServers("acme#phone", "alice", "c1")[0]
	if len(ice.URLs) != 2 || !strings.HasSuffix(ice.URLs[1], "?transport=tcp") {
		t.Fatalf("urls %v", ice.URLs)
	}
	c := newClient(t, s, ice.Username, ice.Credential, true)
	relay, err := c.Allocate()
	if err != nil {
		t.Fatalf("allocate over TCP: %v", err)
	}
	defer relay.Close()
	relayRoundTrip(t, relay, 50)
}

func TestICEServersURLs(t *testing.T) {
	s := startServer(t, func(c *Config) { c.PublicIP = net.ParseIP("203.0.113.7"); c.NoTCP = true })
	ice := s.ICEServers("acme#phone", "alice", "c1")
	want := fmt.Sprintf("turn:203.0.113.7:%d?transport=udp", s.Port())
	if len(ice) != 1 || len(ice[0].URLs) != 1 || ice[0].URLs[0] != want {
		t.Fatalf("ice servers %+v, want %s", ice, want)
	}
	if !strings.HasSuffix(ice[0].Username, ":acme#phone:alice:c1") || ice[0].Credential == "" {
		t.Fatalf("credential %+v", ice[0])
	}
}

func TestAuthRefusesBadCredentials(t *testing.T) {
	clk := clock.NewFake(time.Now())
	s := startServer(t, func(c *Config) { c.Clock = clk })
	alice := s.ICEServers("acme#phone", "alice", "c1")[0]
	bob := s.ICEServers("acme#phone", "bob", "c1")[0]
	cases := map[string][2]string{
		"wrong HMAC":           {alice.Username, "AAAA" + alice.Credential[4:]},
		"another user's":       {alice.Username, bob.Credential},
		"renamed user":         {strings.Replace(alice.Username, ":alice:", ":bob:", 1), alice.Credential},
		"not a duet username":  {"alice", alice.Credential},
		"extended expiry":      {"9" + alice.Username, alice.Credential},
		"other secret's":       {alice.Username, NewCredentials([]byte("some other secret 123"), time.Minute, clk).Password(alice.Username)},
		"unsigned, no expiry:": {"0:acme#phone:alice:c1", NewCredentials(testSecret, time.Minute, clk).Password("0:acme#phone:alice:c1")},
	}
	for name, cred := range cases {
		c := newClient(t, s, cred[0], cred[1], false)
		if relay, err := c.Allocate(); err == nil {
			relay.Close()
			t.Errorf("%s: allocation succeeded", name)
		}
	}
	// The genuine credential works until it expires.
	c := newClient(t, s, alice.Username, alice.Credential, false)
	relay, err := c.Allocate()
	if err != nil {
		t.Fatalf("genuine credential: %v", err)
	}
	relay.Close()
	clk.Advance(DefaultCredentialTTL)
	c = newClient(t, s, alice.Username, alice.Credential, false)
	if relay, err := c.Allocate(); err == nil {
		relay.Close()
		t.Fatal("an expired credential allocated")
	}
}

func TestQuotaPerUser(t *testing.T) {
	s := startServer(t, func(c *Config) { c.MaxAllocationsPerUser = 2 })
	var relays []net.PacketConn
	for range 2 {
		_, r, err := allocate(t, s, "alice")
		if err != nil {
			t.Fatalf("allocation within quota: %v", err)
		}
		relays = append(relays, r)
	}
	if _, _, err := allocate(t, s, "alice"); err == nil || !strings.Contains(err.Error(), "486") {
		t.Fatalf("third allocation: %v, want 486 Allocation Quota Reached", err)
	}
	if _, _, err := allocate(t, s, "bob"); err != nil {
		t.Fatalf("another user is not limited by alice's quota: %v", err)
	}
	if n := s.UserAllocations("acme#phone", "alice"); n != 2 {
		t.Fatalf("alice has %d allocations, want 2", n)
	}
	relays[0].Close() // deallocates (a refresh with lifetime 0)
	deadline := time.Now().Add(5 * time.Second)
	for s.UserAllocations("acme#phone", "alice") != 1 {
		if time.Now().After(deadline) {
			t.Fatal("the closed allocation still counts")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, _, err := allocate(t, s, "alice"); err != nil {
		t.Fatalf("allocation after one closed: %v", err)
	}
}

func TestQuotaHoldsUnderConcurrency(t *testing.T) {
	s := startServer(t, func(c *Config) { c.MaxAllocationsPerUser = 3 })
	ice := s.ICEServers("acme#phone", "alice", "c1")[0]
	clients := make([]*testClient, 12)
	for i := range clients {
		clients[i] = newClient(t, s, ice.Username, ice.Credential, false)
	}
	errs := make(chan error, len(clients))
	for _, c := range clients {
		go func() {
			r, err := c.Allocate()
			if err == nil {
				t.Cleanup(func() { r.Close() })
			}
			errs <- err
		}()
	}
	ok := 0
	for range clients {
		if <-errs == nil {
			ok++
		}
	}
	if ok != 3 || s.UserAllocations("acme#phone", "alice") != 3 {
		t.Fatalf("%d allocations succeeded (%d counted), want exactly 3", ok, s.UserAllocations("acme#phone", "alice"))
	}
}

func TestDefaultPolicyRefusesPrivatePeers(t *testing.T) {
	s := startServer(t, func(c *Config) { c.Peers = PeerPolicy{} })
	c, relay, err := allocate(t, s, "alice")
	if err != nil {
		t.Fatal(err)
	}
	// Refused at CreatePermission: nothing is ever sent to these addresses.
	for _, ip := range []string{"10.0.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1"} {
		if err := c.CreatePermission(&net.UDPAddr{IP: net.ParseIP(ip), Port: 9}); err == nil {
			t.Errorf("permission to %s granted", ip)
		}
	}
	// 127.0.0.1 is the relay IP, so the permission is granted, but only this server's live
	// relays may be reached there: not a plain socket, nor the TURN listener itself.
	plain := peerSocket(t)
	_, _ = relay.WriteTo([]byte("to a plain socket"), plain.LocalAddr())
	_ = plain.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if n, _, err := plain.ReadFrom(make([]byte, 100)); err == nil {
		t.Fatalf("a loopback service that is not a relay got %d bytes", n)
	}
	// Two relays of the server reach each other (both parties behind TURN).
	_, other, err := allocate(t, s, "bob")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = other.WriteTo([]byte("knock"), relay.LocalAddr()) // bob's permission for alice
	for range 20 {
		if _, err := relay.WriteTo([]byte("relay to relay"), other.LocalAddr()); err != nil {
			t.Fatal(err)
		}
		_ = other.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		buf := make([]byte, 100)
		if n, _, err := other.ReadFrom(buf); err == nil && string(buf[:n]) == "relay to relay" {
			return
		}
	}
	t.Fatal("relay to relay did not arrive")
}

func TestRefusesTCPRelay(t *testing.T) {
	s := startServer(t)
	ice := s.ICEServers("acme#phone", "alice", "c1")[0]
	c := newClient(t, s, ice.Username, ice.Credential, true)
	if a, err := c.AllocateTCP(); err == nil {
		a.Close()
		t.Fatal("a TCP relay was allocated")
	}
}

func TestRelayPortRange(t *testing.T) {
	// A free range of 8 ports: a bound probe tells which are free right now.
	probe, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	base := probe.LocalAddr().(*net.UDPAddr).Port
	probe.Close()
	if base > 65000 {
		base -= 100
	}
	s := startServer(t, func(c *Config) { c.RelayPortMin, c.RelayPortMax = uint16(base), uint16(base+7) }) //nolint:gosec
	for range 3 {
		_, relay, err := allocate(t, s, "alice")
		if err != nil {
			t.Skipf("port range busy: %v", err)
		}
		if p := relay.LocalAddr().(*net.UDPAddr).Port; p < base || p > base+7 {
			t.Fatalf("relay port %d outside %d-%d", p, base, base+7)
		}
	}
}

func TestCloseStopsEverything(t *testing.T) {
	if left := serverGoroutines(); len(left) > 0 {
		t.Fatalf("server goroutines before the test: %v", left)
	}
	s, err := New(Config{
		Addr: "127.0.0.1:0", Secret: testSecret, UDPListeners: 2,
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	// Allocations over UDP and TCP whose clients vanish without a word, and an idle TCP
	// connection.
	for _, tcp := range []bool{false, true} {
		ice := s.ICEServers("acme#phone", "alice", "c1")[0]
		c := newClient(t, s, ice.Username, ice.Credential, tcp)
		if _, err := c.Allocate(); err != nil {
			t.Fatal(err)
		}
		if !tcp {
			c.close() // the UDP allocation lives on in the server
		}
	}
	idle, err := net.Dial("tcp", hostPort(net.IPv4(127, 0, 0, 1), s.Port()))
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	if s.Allocations() != 2 {
		t.Fatalf("allocations %d, want 2", s.Allocations())
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if n := s.Allocations(); n != 0 {
		t.Fatalf("allocations after Close: %d", n)
	}
	// Close waited for every reader; pion's last steps after that take no time.
	deadline := time.Now().Add(time.Second)
	for {
		left := serverGoroutines()
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d server goroutines left after Close:\n%s", len(left), strings.Join(left, "\n\n"))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// serverGoroutines returns the stacks of goroutines that belong to a TURN server (pion's
// server side or this package), the test's own excepted.
func serverGoroutines() []string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "server/turn.Test") || strings.Contains(g, "testing.tRunner") {
			continue
		}
		if strings.Contains(g, "pion/turn/v5.(*Server)") || strings.Contains(g, "turn/v5/internal/allocation") ||
			strings.Contains(g, "turn/v5/internal/server") || strings.Contains(g, "duet/server/turn.") {
			out = append(out, g)
		}
	}
	return out
}
