package duet_test

import (
	"context"
	"io"
	"net"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/duet-rtc/duet"
	"github.com/duet-rtc/duet/protocol"
	"github.com/duet-rtc/duet/server"
	"github.com/duet-rtc/duet/server/servertest"
	"github.com/duet-rtc/duet/server/store"
	"github.com/duet-rtc/duet/server/store/postgres"
	"github.com/duet-rtc/duet/server/store/postgres/pgtest"
)

// proveLive has from pause its voice and waits until to hears of it: that goes through the
// server's live call, so it proves both devices are back in the same call there.
func proveLive(t *testing.T, s *duet.CallSession, to *recorder) {
	t.Helper()
	if err := s.PauseVoice(); err != nil {
		t.Fatal(err)
	}
	if e := to.wait(t, "stream"); e.stream != duet.StreamStatusVoicePause {
		t.Fatalf("stream %v", e.stream)
	}
}

// oneRecord returns the only call record of app, failing unless there is exactly one.
func oneRecord(t *testing.T, srv *servertest.Server) store.CallRecord {
	t.Helper()
	srv.FlushCallRecords()
	recs, _, err := srv.Store().ListCalls(context.Background(), srv.AppKey, store.CallFilter{})
	if err != nil || len(recs) != 1 {
		t.Fatalf("records %+v, %v; want one", recs, err)
	}
	return recs[0]
}

// TestAnsweredCallSurvivesServerRestart: a restart of the server (same data folder) keeps
// an answered call: both SDKs reconnect into the same call, which ends normally afterwards
// and is recorded once, accepted before the restart and ended after it.
func TestAnsweredCallSurvivesServerRestart(t *testing.T) {
	srv := servertest.Start(t)
	alice, recA := newClient(t, srv, "alice")
	bob, recB := newClient(t, srv, "bob")
	out, in := answeredCall(t, alice, recA, bob, recB, "bob")

	srv.Restart()
	for _, r := range []*recorder{recA, recB} {
		r.wait(t, "conn:disconnected")
		r.wait(t, "conn:connected")
	}
	proveLive(t, out, recB)
	if recA.has("end") || recB.has("end") {
		t.Fatalf("the call ended across the restart: %v / %v", recA.names(), recB.names())
	}
	if out.Status() != duet.CallStatusAccepted || in.Status() != duet.CallStatusAccepted || out.CallID() != in.CallID() {
		t.Fatalf("sessions %v %v", out.Status(), in.Status())
	}
	if err := alice.CallManager().EndCall(ctxT(t), out.CallID(), duet.EndReasonHangup); err != nil {
		t.Fatal(err)
	}
	if e := recB.wait(t, "end"); e.reason != duet.EndReasonHangup {
		t.Fatalf("bob's call ended %v", e.reason)
	}
	rec := oneRecord(t, srv)
	if rec.ID != out.CallID() || rec.EndReason != int(duet.EndReasonHangup) || rec.EndedBy != "alice" ||
		rec.AcceptedAt.IsZero() || !rec.EndedAt.After(rec.AcceptedAt) || rec.CalleeDevice == "" {
		t.Fatalf("record %+v", rec)
	}
}

// TestRingingCallSurvivesServerRestart: a call that rings across a restart rings again on
// the callee's device when it reconnects, and can be answered there.
func TestRingingCallSurvivesServerRestart(t *testing.T) {
	srv := servertest.Start(t)
	alice, recA := newClient(t, srv, "alice")
	bob, recB := newClient(t, srv, "bob")
	out, err := alice.CallManager().StartCall(ctxT(t), duet.CallTypeVoice, "bob", "")
	if err != nil {
		t.Fatal(err)
	}
	in := recB.wait(t, "receive").session
	srv.Restart()
	recB.wait(t, "conn:connected")
	recA.wait(t, "conn:connected")
	// The callee's device is rung again when it returns; the SDK keeps the same session.
	if err := bob.CallManager().AnswerIncomingCall(ctxT(t), in.CallID()); err != nil {
		t.Fatal(err)
	}
	recA.wait(t, "accept")
	recB.wait(t, "accept")
	if recA.has("end") || recB.has("end") || out.CallID() != in.CallID() {
		t.Fatalf("events %v / %v", recA.names(), recB.names())
	}
	if err := bob.CallManager().EndCall(ctxT(t), in.CallID(), duet.EndReasonHangup); err != nil {
		t.Fatal(err)
	}
	if e := recA.wait(t, "end"); e.reason != duet.EndReasonHangup {
		t.Fatalf("alice's call ended %v", e.reason)
	}
	if rec := oneRecord(t, srv); rec.AcceptedAt.IsZero() || rec.EndReason != int(duet.EndReasonHangup) {
		t.Fatalf("record %+v", rec)
	}
}

// TestHangUpWhileTheServerIsDown: a hang-up the server cannot hear is kept and sent once
// the device is back, so the call ends Hangup for the other side and in the record (not
// Failed when the grace runs out).
func TestHangUpWhileTheServerIsDown(t *testing.T) {
	srv := servertest.Start(t)
	alice, recA := newClient(t, srv, "alice")
	bob, recB := newClient(t, srv, "bob")
	out, _ := answeredCall(t, alice, recA, bob, recB, "bob")
	srv.RestartAfter(func() {
		recA.wait(t, "conn:disconnected")
		if err := alice.CallManager().EndCall(ctxT(t), out.CallID(), duet.EndReasonHangup); err != nil {
			t.Fatal(err)
		}
		if e := recA.wait(t, "end"); e.reason != duet.EndReasonHangup {
			t.Fatalf("alice's call ended %v", e.reason)
		}
	})
	if e := recB.wait(t, "end"); e.reason != duet.EndReasonHangup {
		t.Fatalf("bob's call ended %v", e.reason)
	}
	if rec := oneRecord(t, srv); rec.EndReason != int(duet.EndReasonHangup) || rec.EndedBy != "alice" {
		t.Fatalf("record %+v", rec)
	}
}

// cutProxy forwards TCP connections to target until Cut, which closes every connection and
// refuses new ones, as a database that goes away does; Restore takes them again.
type cutProxy struct {
	t      *testing.T
	target string
	ln     net.Listener
	mu     sync.Mutex
	up     bool
	conns  []net.Conn
}

func newCutProxy(t *testing.T, target string) *cutProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{t: t, target: target, ln: ln, up: true}
	t.Cleanup(func() { ln.Close(); p.Cut() })
	go p.serve()
	return p
}

func (p *cutProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		up := p.up
		if up {
			p.conns = append(p.conns, c)
		}
		p.mu.Unlock()
		if !up {
			c.Close()
			continue
		}
		go p.pipe(c)
	}
}

func (p *cutProxy) pipe(c net.Conn) {
	d, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	p.conns = append(p.conns, d)
	p.mu.Unlock()
	go func() { io.Copy(d, c); d.Close() }()
	io.Copy(c, d)
	c.Close()
}

func (p *cutProxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.up = false
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

func (p *cutProxy) Restore() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.up = true
}

// TestStoreOutage: PostgreSQL goes away during a call. The hang-up decided meanwhile is
// not told to anyone until it is stored (no silent success), new calls are refused with a
// code, and when the database is back the held end goes out and is recorded once.
func TestStoreOutage(t *testing.T) {
	dsn := pgtest.URL(t)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	proxy := newCutProxy(t, u.Host)
	u.Host = proxy.ln.Addr().String()
	st, err := postgres.Open(ctxT(t), u.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	srv := servertest.Start(t, func(c *server.Config) { c.Store = st })
	alice, recA := newClient(t, srv, "alice")
	bob, recB := newClient(t, srv, "bob")
	carol, _ := newClient(t, srv, "carol")
	out, _ := answeredCall(t, alice, recA, bob, recB, "bob")

	proxy.Cut()
	ended := make(chan error, 1)
	go func() { ended <- alice.CallManager().EndCall(ctxT(t), out.CallID(), duet.EndReasonHangup) }()
	// Until the end is stored, bob hears nothing and new calls are refused with a code.
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := carol.CallManager().StartCall(ctxT(t), duet.CallTypeVoice, "dave", "")
		code := duet.ErrorCodeOf(err)
		if code == protocol.CodeDatabase {
			break
		}
		if code != protocol.CodeServerUnknown || time.Now().After(deadline) {
			t.Fatalf("invite while the store is down: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if recB.has("end") {
		t.Fatal("bob heard of an end that is not stored")
	}
	proxy.Restore()
	if e := recB.wait(t, "end"); e.reason != duet.EndReasonHangup {
		t.Fatalf("bob's call ended %v", e.reason)
	}
	if err := <-ended; err != nil {
		t.Fatal(err)
	}
	if rec := oneRecord(t, srv); rec.EndReason != int(duet.EndReasonHangup) || rec.EndedBy != "alice" {
		t.Fatalf("record %+v", rec)
	}
	if _, err := carol.CallManager().StartCall(ctxT(t), duet.CallTypeVoice, "alice", ""); err != nil {
		t.Fatalf("a call after the store came back: %v", err)
	}
}
