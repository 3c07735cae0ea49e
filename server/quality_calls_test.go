package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/duet-rtc/duet/protocol"
	"github.com/duet-rtc/duet/server/api"
	"github.com/duet-rtc/duet/server/quality"
	"github.com/duet-rtc/duet/server/servertest"
)

// TestCallQualitySamples: the parties of a call report samples; the call's timeline and
// per-party summary come back from GET /{org}/{app}/calls/{callId}/quality. Samples from a
// device that is not in the call, malformed ones and samples of a call that ended are
// refused with a code and never stored.
func TestCallQualitySamples(t *testing.T) {
	srv := servertest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	alice, err := dialDevice(ctx, srv.URL, userToken(t, srv, "alice"), "a1")
	if err != nil {
		t.Fatal(err)
	}
	bob, err := dialDevice(ctx, srv.URL, userToken(t, srv, "bob"), "b1")
	if err != nil {
		t.Fatal(err)
	}
	carol, err := dialDevice(ctx, srv.URL, userToken(t, srv, "carol"), "c1")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { alice.ws.CloseNow(); bob.ws.CloseNow(); carol.ws.CloseNow() })

	inv := protocol.CallInvited{CallID: answeredRawCall(ctx, t, alice, bob, "bob")}

	now := time.Now().UnixMilli()
	good := protocol.CallQuality{CallID: inv.CallID, Samples: []protocol.QualitySample{
		{At: now, RTTMs: 40, AudioKbpsIn: 32, VideoKbpsIn: 300, FPSIn: 30, WidthIn: 320, HeightIn: 240, ConnectType: protocol.ConnectDirect},
		{At: now + 2000, RTTMs: 60, LossIn: 0.05, JitterMs: 8, FreezeMs: 400, Freezes: 1,
			NetworkStatus: protocol.NetworkUnstable, ConnectType: protocol.ConnectDirect},
	}}
	n := 0
	report := func(d *rawDevice, q any) *protocol.Error {
		t.Helper()
		n++
		id := "q" + strings.Repeat("+", n)
		if err := d.send(ctx, protocol.TypeCallQuality, id, q); err != nil {
			t.Fatal(err)
		}
		env, err := d.read(ctx)
		for err == nil && (env.Type != protocol.TypeReply || env.ID != id) {
			env, err = d.read(ctx)
		}
		if err != nil {
			t.Fatal(err)
		}
		return env.Error
	}
	if e := report(bob, good); e != nil {
		t.Fatalf("bob's samples refused: %v", e)
	}
	if e := report(alice, protocol.CallQuality{CallID: inv.CallID, Samples: good.Samples[:1]}); e != nil {
		t.Fatalf("alice's sample refused: %v", e)
	}
	if e := report(carol, good); e == nil || e.Code != protocol.CodeCallInvalidID {
		t.Fatalf("carol's samples of a call she is not in: %v, want 800", e)
	}
	bad := good
	bad.Samples = []protocol.QualitySample{{At: now, LossIn: 2}}
	if e := report(bob, bad); e == nil || e.Code != protocol.CodeBadMessage {
		t.Fatalf("a loss of 2: %v, want 900", e)
	}
	if e := report(bob, map[string]any{"callId": inv.CallID, "samples": make([]protocol.QualitySample, protocol.MaxQualitySamples+1)}); e == nil || e.Code != protocol.CodeBadMessage {
		t.Fatalf("too many samples: %v, want 900", e)
	}
	if err := alice.send(ctx, protocol.TypeCallEnd, "e", protocol.CallEnd{CallID: inv.CallID, Reason: protocol.EndHangup}); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.readUntil(ctx, protocol.TypeCallEnded); err != nil {
		t.Fatal(err)
	}
	if e := report(bob, good); e == nil || e.Code != protocol.CodeCallInvalidID {
		t.Fatalf("samples after the end: %v, want 800", e)
	}

	admin := &api.AdminClient{BaseURL: srv.URL, Token: srv.AdminToken()}
	tok, err := admin.AppToken(ctx, srv.AppKey, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	path := "/" + strings.Replace(srv.AppKey, "#", "/", 1) + "/calls/" + inv.CallID + "/quality"
	status, body := srv.Do(http.MethodGet, path, tok.AccessToken, nil)
	if status != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, status, body)
	}
	var resp api.Response[quality.Report]
	if err := json.Unmarshal(body, &resp); err != nil || len(resp.Entities) != 1 {
		t.Fatalf("report %s: %v", body, err)
	}
	rep := resp.Entities[0]
	if len(rep.Parties) != 2 || rep.Parties[0].User != "alice" || rep.Parties[1].User != "bob" {
		t.Fatalf("parties %+v", rep.Parties)
	}
	b := rep.Parties[1]
	if len(b.Samples) != 2 || b.Summary.Samples != 2 || b.Summary.RTTMaxMs != 60 || b.Summary.LossInMax != 0.05 ||
		b.Summary.Freezes != 1 || b.Summary.FreezeRatio != 0.2 || b.Summary.StatusMs["unstable"] != 2000 {
		t.Fatalf("bob's timeline %+v", b)
	}
	if want := (quality.MOS(40, 0, 0) + quality.MOS(60, 8, 0.05)) / 2; b.Summary.MOS != want || b.Summary.MOS < 3 {
		t.Fatalf("bob's MOS %v, want %v", b.Summary.MOS, want)
	}
	if status, _ := srv.Do(http.MethodGet, path, "", nil); status != http.StatusUnauthorized {
		t.Fatalf("without a token: %d, want 401", status)
	}
}
