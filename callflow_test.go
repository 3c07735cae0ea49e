package duet_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/duet-rtc/duet"
	"github.com/duet-rtc/duet/server/api"
	"github.com/duet-rtc/duet/server/servertest"
)

// callRecord returns the record of call id through GET /{org}/{app}/calls.
func callRecord(t *testing.T, srv *servertest.Server, id string) api.Call {
	t.Helper()
	tok, err := (&api.AdminClient{BaseURL: srv.URL, Token: srv.AdminToken()}).AppToken(ctxT(t), srv.AppKey, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	status, body := srv.Do("GET", "/"+strings.Replace(srv.AppKey, "#", "/", 1)+"/calls?limit=100", tok.AccessToken, nil)
	if status != 200 {
		t.Fatalf("GET /calls: %d %s", status, body)
	}
	var resp api.Response[api.Call]
	if err := json.Unmarshal(body, &resp); err != nil {
		t.Fatal(err)
	}
	for _, c := range resp.Entities {
		if c.ID == id {
			return c
		}
	}
	t.Fatalf("no record of call %s in %s", id, body)
	return api.Call{}
}

// count returns how many events named name were recorded.
func (r *recorder) count(name string) int {
	n := 0
	for _, e := range r.names() {
		if e == name {
			n++
		}
	}
	return n
}

// connectedOnce ends the call from a, waits for both ends and checks that each side heard
// CallDidConnect exactly once and that the record says when and how the call connected.
func connectedOnce(t *testing.T, srv *servertest.Server, a *duet.Client, recA, recB *recorder, id string) {
	t.Helper()
	recA.wait(t, "connect")
	recB.wait(t, "connect")
	if err := a.CallManager().EndCall(ctxT(t), id, duet.EndReasonHangup); err != nil {
		t.Fatal(err)
	}
	recA.wait(t, "end")
	recB.wait(t, "end")
	if na, nb := recA.count("connect"), recB.count("connect"); na != 1 || nb != 1 {
		t.Fatalf("CallDidConnect %d times on one side and %d on the other, want once each", na, nb)
	}
	if rec := callRecord(t, srv, id); rec.ConnectedAt == 0 || rec.ConnectType == 0 {
		t.Fatalf("record connectedAt %d connectType %d, want both set", rec.ConnectedAt, rec.ConnectType)
	}
}

// TestAnswerOnReceiveConnects: a callee that answers from CallDidReceive, before its
// transport is up, still gets CallDidConnect, and so does the caller; the record says how
// the call connected.
func TestAnswerOnReceiveConnects(t *testing.T) {
	srv := servertest.Start(t)
	alice, recA := newClient(t, srv, "ar-alice")
	bob, recB := newLoggedOutClient(t, srv, "ar-bob")
	h := newHook("receive", func(s *duet.CallSession) {
		if err := bob.CallManager().AnswerIncomingCall(ctxT(t), s.CallID()); err != nil {
			t.Errorf("answer: %v", err)
		}
	})
	bob.CallManager().AddDelegate(h, nil)
	login(t, bob, "ar-bob")
	s, err := alice.CallManager().StartCall(ctxT(t), duet.CallTypeVoice, "ar-bob", "")
	if err != nil {
		t.Fatal(err)
	}
	h.waitDone(t)
	recA.wait(t, "accept")
	connectedOnce(t, srv, alice, recA, recB, s.CallID())
}

// TestGlareFromSDK: while alice's call rings on bob, bob's StartCall(alice) is not refused
// by the SDK: the server merges the two (PROTOCOL.md rule 7), StartCall returns alice's
// call, both sides hear it accepted and connected once.
func TestGlareFromSDK(t *testing.T) {
	srv := servertest.Start(t)
	alice, recA := newClient(t, srv, "gl-alice")
	bob, recB := newClient(t, srv, "gl-bob")
	out, err := alice.CallManager().StartCall(ctxT(t), duet.CallTypeVoice, "gl-bob", "")
	if err != nil {
		t.Fatal(err)
	}
	recB.wait(t, "receive")
	merged, err := bob.CallManager().StartCall(ctxT(t), duet.CallTypeVoice, "GL-Alice", "")
	if err != nil {
		t.Fatalf("bob's call to alice while hers rings: %v", err)
	}
	if merged.CallID() != out.CallID() {
		t.Fatalf("glare gave call %s, want alice's %s", merged.CallID(), out.CallID())
	}
	recA.wait(t, "accept")
	recB.wait(t, "accept")
	connectedOnce(t, srv, alice, recA, recB, out.CallID())

	// A device in an accepted call is still refused at once.
	newClient(t, srv, "gl-carol")
	if _, err = alice.CallManager().StartCall(ctxT(t), duet.CallTypeVoice, "gl-bob", ""); err != nil {
		t.Fatal(err)
	}
	in := recB.wait(t, "receive").session
	if err := bob.CallManager().AnswerIncomingCall(ctxT(t), in.CallID()); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.CallManager().StartCall(ctxT(t), duet.CallTypeVoice, "gl-carol", ""); duet.ErrorCodeOf(err) != duet.ErrorCallBusy {
		t.Fatalf("a call from inside an accepted call: %v, want 801", err)
	}
}
