package duet_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/pion/logging"
	pionturn "github.com/pion/turn/v5"

	"github.com/duet-rtc/duet"
	"github.com/duet-rtc/duet/internal/leaktest"
	"github.com/duet-rtc/duet/media"
	"github.com/duet-rtc/duet/server/servertest"
)

func relayOnly(o *duet.Options) { o.ICE.RelayOnly = true }

// TestRelayOnlyVideoCall forces both parties through the embedded TURN server: both report
// ConnectType Relay, media flows both ways through the relays, and the call record says
// Relay.
func TestRelayOnlyVideoCall(t *testing.T) {
	leaktest.Check(t)
	srv := servertest.Start(t, servertest.WithTURN())
	dir := t.TempDir()
	alice, recA := newClient(t, srv, "alice", relayOnly)
	bob, recB := newClient(t, srv, "bob", relayOnly)
	mediaA := withMedia(t, alice, dir, "at-alice")
	mediaB := withMedia(t, bob, dir, "at-bob")

	s, err := alice.CallManager().StartCall(ctxT(t), duet.CallTypeVideo, "bob", "")
	if err != nil {
		t.Fatalf("StartCall: %v", err)
	}
	in := recB.wait(t, "receive").session
	recA.wait(t, "connect")
	recB.wait(t, "connect")
	if s.ConnectType() != duet.ConnectTypeRelay || in.ConnectType() != duet.ConnectTypeRelay {
		t.Fatalf("connect types: caller %v, callee %v; want Relay on both", s.ConnectType(), in.ConnectType())
	}
	if n := srv.TURN().Allocations(); n < 2 {
		t.Fatalf("%d TURN allocations during a relayed call, want one per party at least", n)
	}
	if err := bob.CallManager().AnswerIncomingCall(ctxT(t), in.CallID()); err != nil {
		t.Fatalf("answer: %v", err)
	}
	recA.wait(t, "accept")
	recB.wait(t, "accept")
	for name, c := range map[string]*media.FrameCounter{"alice audio": mediaA.audio, "alice video": mediaA.video, "bob audio": mediaB.audio, "bob video": mediaB.video} {
		if _, err := c.Wait(ctxT(t), func(st media.CounterStats) bool { return st.Frames >= 20 }); err != nil {
			t.Fatalf("%s: %v (stats %+v)", name, err, c.Stats())
		}
	}
	// The media went through the relays: the TURN server counted it.
	metrics := scrape(t, srv)
	if !strings.Contains(metrics, "duet_turn_relayed_packets_total{direction=\"to_client\"}") ||
		strings.Contains(metrics, "duet_turn_relayed_packets_total{direction=\"to_client\"} 0\n") {
		t.Fatalf("no relayed packets in the metrics:\n%s", metrics)
	}
	if err := alice.CallManager().EndCall(ctxT(t), s.CallID(), duet.EndReasonHangup); err != nil {
		t.Fatalf("end: %v", err)
	}
	recB.wait(t, "end")
	for _, c := range []*media.FrameCounter{mediaA.audio, mediaA.video, mediaB.audio, mediaB.video} {
		c.Close()
	}
	srv.FlushCallRecords()
	rec, err := srv.Store().GetCall(context.Background(), srv.AppKey, s.CallID())
	if err != nil {
		t.Fatalf("call record: %v", err)
	}
	if rec.ConnectType != int(duet.ConnectTypeRelay) {
		t.Fatalf("call record connectType %d, want %d (relay)", rec.ConnectType, duet.ConnectTypeRelay)
	}
}

// TestTURNRefusesOutsiders checks that the relay is only for the parties of a call: while
// alice calls bob, carol, who is not in the call and so was handed no credential, cannot
// allocate with a made-up or borrowed one; a credential the server issued works.
func TestTURNRefusesOutsiders(t *testing.T) {
	srv := servertest.Start(t, servertest.WithTURN())
	alice, _ := newClient(t, srv, "alice", relayOnly)
	_, recB := newClient(t, srv, "bob", relayOnly)
	s, err := alice.CallManager().StartCall(ctxT(t), duet.CallTypeVoice, "bob", "")
	if err != nil {
		t.Fatal(err)
	}
	recB.wait(t, "receive")
	addr := fmt.Sprintf("127.0.0.1:%d", srv.TURN().Port())
	exp := time.Now().Add(5 * time.Minute).Unix()
	genuine := srv.TURN().ICEServers(srv.AppKey, "alice", s.CallID())[0]
	guess := "bm90IHRoZSByaWdodCBwYXNzd29yZA=="
	for name, cred := range map[string][2]string{
		"no credential":                {"", ""},
		"carol's made-up credential":   {fmt.Sprintf("%d:%s:carol:%s", exp, srv.AppKey, s.CallID()), guess},
		"alice's username, a guess":    {genuine.Username, guess},
		"alice's password, carol name": {strings.Replace(genuine.Username, ":alice:", ":carol:", 1), genuine.Credential},
	} {
		if err := tryAllocate(t, addr, cred[0], cred[1]); err == nil {
			t.Errorf("%s: allocation succeeded", name)
		}
	}
	if err := tryAllocate(t, addr, genuine.Username, genuine.Credential); err != nil {
		t.Fatalf("an issued credential cannot allocate: %v", err)
	}
}

// tryAllocate opens one allocation with a pion TURN client and closes it again.
func tryAllocate(t *testing.T, addr, username, password string) error {
	t.Helper()
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	lf := logging.NewDefaultLoggerFactory()
	lf.Writer = io.Discard
	c, err := pionturn.NewClient(&pionturn.ClientConfig{
		STUNServerAddr: addr, TURNServerAddr: addr, Conn: conn, Username: username, Password: password,
		Realm: "duet", RTO: 100 * time.Millisecond, LoggerFactory: lf,
	})
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Listen(); err != nil {
		return err
	}
	relay, err := c.Allocate()
	if err != nil {
		return err
	}
	return relay.Close()
}

// scrape returns the server's /metrics page.
func scrape(t *testing.T, srv *servertest.Server) string {
	t.Helper()
	status, body := srv.Do("GET", "/metrics", "", nil)
	if status != 200 {
		t.Fatalf("/metrics: HTTP %d", status)
	}
	return string(body)
}
