package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/duet-rtc/duet/protocol"
	"github.com/duet-rtc/duet/server/api"
	"github.com/duet-rtc/duet/server/quality"
	"github.com/duet-rtc/duet/server/servertest"
	"github.com/duet-rtc/duet/server/webhook"
)

// TestCallQualitySamples: the parties of a call report samples; the call's timeline and
// per-party summary come back from GET /{org}/{app}/calls/{callId}/quality. Samples from a
// device that is not in the call, malformed ones and samples of a call that ended are
// refused with a code and never stored. The parties' summaries are in the call's record:
// GET /{org}/{app}/calls, GET .../calls/{callId} and the call.ended webhook; /metrics has
// the reported setup and the parties' scores.
func TestCallQualitySamples(t *testing.T) {
	srv := servertest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ended := make(chan []byte, 1)
	endpoint := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.Header.Get("X-Duet-Event") == "call.ended" {
			ended <- body
		}
	}))
	defer endpoint.Close()
	admin := &api.AdminClient{BaseURL: srv.URL, Token: srv.AdminToken()}
	if _, err := admin.SetWebhook(ctx, srv.AppKey, endpoint.URL, "a-webhook-secret-of-some-length"); err != nil {
		t.Fatal(err)
	}
	aliceTok, carolTok := userToken(t, srv, "alice"), userToken(t, srv, "carol")
	alice, err := dialDevice(ctx, srv.URL, aliceTok, "a1")
	if err != nil {
		t.Fatal(err)
	}
	bob, err := dialDevice(ctx, srv.URL, userToken(t, srv, "bob"), "b1")
	if err != nil {
		t.Fatal(err)
	}
	carol, err := dialDevice(ctx, srv.URL, carolTok, "c1")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { alice.ws.CloseNow(); bob.ws.CloseNow(); carol.ws.CloseNow() })

	inv := protocol.CallInvited{CallID: answeredRawCall(ctx, t, alice, bob, "bob")}

	now := time.Now().UnixMilli()
	good := protocol.CallQuality{CallID: inv.CallID, Samples: []protocol.QualitySample{
		{At: now, RTTMs: 40, AudioKbpsIn: 32, VideoKbpsIn: 300, FPSIn: 30, WidthIn: 320, HeightIn: 240, ConnectType: protocol.ConnectDirect,
			FirstMediaMs: 120},
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
	checkRecordQuality(t, srv, [3]string{tok.AccessToken, aliceTok, carolTok}, inv.CallID, b.Summary, rep.Parties[0].Summary, ended)
}

// checkRecordQuality: the call's record carries the parties' summaries (caller alice,
// callee bob) in the REST list, the single record and the call.ended webhook, and /metrics
// counted the reported setup and both scores. tokens: the app's, alice's and carol's
// (carol's does not see the call).
func checkRecordQuality(t *testing.T, srv *servertest.Server, tokens [3]string, callID string, bob, alice quality.Summary, ended <-chan []byte) {
	t.Helper()
	srv.FlushCallRecords()
	check := func(where string, rec api.Call) {
		t.Helper()
		q := rec.Quality
		if rec.ID != callID || q == nil || q.Caller == nil || q.Callee == nil ||
			q.Callee.MOS != bob.MOS || q.Callee.LossInMax != 0.05 || q.Callee.Samples != 2 ||
			q.Caller.Samples != 1 || q.Caller.MOS != alice.MOS {
			t.Fatalf("%s: record %+v quality %+v", where, rec, q)
		}
	}
	prefix := "/" + strings.Replace(srv.AppKey, "#", "/", 1) + "/calls"
	var list api.Response[api.Call]
	if status, body := srv.Do(http.MethodGet, prefix, tokens[0], nil); status != http.StatusOK || json.Unmarshal(body, &list) != nil || len(list.Entities) != 1 {
		t.Fatalf("GET %s: %d %s", prefix, status, body)
	}
	check("GET /calls", list.Entities[0])
	var one api.Response[api.Call]
	if status, body := srv.Do(http.MethodGet, prefix+"/"+callID, tokens[1], nil); status != http.StatusOK || json.Unmarshal(body, &one) != nil || len(one.Entities) != 1 {
		t.Fatalf("GET the call as alice: %d %s", status, body)
	}
	check("GET /calls/{id}", one.Entities[0])
	if status, body := srv.Do(http.MethodGet, prefix+"/"+callID, tokens[2], nil); status != http.StatusNotFound {
		t.Fatalf("GET the call as carol: %d %s, want 404", status, body)
	}
	if status, _ := srv.Do(http.MethodGet, prefix+"/nosuchcall", tokens[0], nil); status != http.StatusNotFound {
		t.Fatalf("GET an unknown call: %d, want 404", status)
	}
	select {
	case body := <-ended:
		var p webhook.Payload
		if err := json.Unmarshal(body, &p); err != nil || p.Data.Record == nil {
			t.Fatalf("call.ended %s: %v", body, err)
		}
		check("call.ended", *p.Data.Record)
	case <-time.After(10 * time.Second):
		t.Fatal("no call.ended webhook")
	}
	_, metrics := srv.Do(http.MethodGet, "/metrics", "", nil)
	for _, want := range []string{
		"duet_call_first_media_seconds_count 2",
		`duet_call_first_media_seconds_bucket{le="0.16"} 2`,
		"duet_call_quality_mos_count 2",
		`duet_call_quality_loss_ratio_count{direction="in"} 2`,
	} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}
