package webhook

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/duet-rtc/duet/internal/clock"
	"github.com/duet-rtc/duet/internal/leaktest"
	"github.com/duet-rtc/duet/server/callflow"
	"github.com/duet-rtc/duet/server/store"
	"github.com/duet-rtc/duet/server/store/sqlite"
)

const testApp = "org#app"

var t0 = time.UnixMilli(1_760_000_000_000).UTC()

// receiver is a local webhook endpoint: it verifies every signature and records what
// arrives; while down it answers 503.
type receiver struct {
	t      *testing.T
	secret string
	down   atomic.Bool
	hits   atomic.Int64
	mu     sync.Mutex
	got    []Payload
	srv    *httptest.Server
}

func newReceiver(t *testing.T, secret string) *receiver {
	r := &receiver{t: t, secret: secret}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.hits.Add(1)
		body, _ := io.ReadAll(req.Body)
		// The outbox runs on a fake clock: any time will do here (TestSignVerify checks it).
		if Verify(r.secret, body, req.Header.Get(SignatureHeader), time.Now(), math.MaxInt64) != nil {
			t.Errorf("bad signature %q", req.Header.Get(SignatureHeader))
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if r.down.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		var p Payload
		if err := json.Unmarshal(body, &p); err != nil {
			t.Errorf("undecodable body: %v", err)
		}
		if req.Header.Get(EventIDHeader) != p.ID || req.Header.Get(EventHeader) != p.Type {
			t.Errorf("headers %q %q for %s %s", req.Header.Get(EventIDHeader), req.Header.Get(EventHeader), p.ID, p.Type)
		}
		r.mu.Lock()
		r.got = append(r.got, p)
		r.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) payloads() []Payload {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Payload(nil), r.got...)
}

func openStore(t *testing.T, path string) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func setupStore(t *testing.T, url, secret string) (*sqlite.Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "duet.db")
	st := openStore(t, path)
	ctx := context.Background()
	if err := st.CreateApp(ctx, store.App{Key: testApp, Org: "org", Name: "app", ClientID: "c", ClientSecret: "s", Registration: "open", Created: t0}); err != nil {
		t.Fatal(err)
	}
	if err := st.PutWebhookEndpoint(ctx, store.WebhookEndpoint{App: testApp, ID: "e1", URL: url, Secret: secret, Created: t0, Updated: t0}); err != nil {
		t.Fatal(err)
	}
	return st, path
}

// callEvents makes the events of n calls, interleaved the way concurrent calls produce them.
func callEvents(n int) []callflow.Event {
	kinds := []callflow.EventKind{callflow.EventInvited, callflow.EventRinging, callflow.EventConnected, callflow.EventAccepted, callflow.EventEnded}
	var out []callflow.Event
	for s, k := range kinds {
		for c := range n {
			ev := callflow.Event{Kind: k, Seq: s + 1, CallID: fmt.Sprintf("call%d", c), App: testApp,
				Caller: "alice", CallerDevice: "a1", Callee: "bob", At: t0.Add(time.Duration(s) * time.Second)}
			if k == callflow.EventEnded {
				ev.Record = &callflow.Record{ID: ev.CallID, App: testApp, Caller: "alice", Callee: "bob", InvitedAt: t0, EndedAt: ev.At}
			}
			out = append(out, ev)
		}
	}
	return out
}

// checkDelivered asserts that every event of n calls arrived at least once, each id once
// after dropping repeats, and in seq order per call.
func checkDelivered(t *testing.T, got []Payload, n int) {
	t.Helper()
	seen := map[string]bool{}
	last := map[string]int{}
	for _, p := range got {
		if seen[p.ID] {
			continue // at least once: a receiver drops repeats by id
		}
		seen[p.ID] = true
		if p.Seq != last[p.CallID]+1 {
			t.Fatalf("call %s: event %d after %d", p.CallID, p.Seq, last[p.CallID])
		}
		last[p.CallID] = p.Seq
	}
	if len(seen) != 5*n {
		t.Fatalf("%d distinct events delivered, want %d", len(seen), 5*n)
	}
}

// waitFor advances the fake clock in steps until cond holds, or fails after 20 s of real
// time.
func waitFor(t *testing.T, clk *clock.Fake, step time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached within 20 s")
		}
		clk.Advance(step)
		time.Sleep(2 * time.Millisecond)
	}
}

func quietLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// store_ stores the outbox rows of evs, as the server's call-step commit does, and kicks o.
func store_(t *testing.T, st store.WebhookStore, o *Outbox, evs []callflow.Event) {
	t.Helper()
	if _, err := st.EnqueueWebhookEvents(context.Background(), o.Events(evs), t0); err != nil {
		t.Fatal(err)
	}
	o.Kick()
}

// TestReceiverDownThenUp: events pile up while the receiver answers 503, then every one of
// them arrives, in order per call, once it is back.
func TestReceiverDownThenUp(t *testing.T) {
	leaktest.Check(t)
	rcv := newReceiver(t, "s3cret")
	st, _ := setupStore(t, rcv.srv.URL, "s3cret")
	defer st.Close()
	clk := clock.NewFake(t0)
	o := New(Config{Store: st, Clock: clk, Logger: quietLogger(), MinBackoff: time.Second, MaxBackoff: 8 * time.Second, MaxAttempts: 100})
	defer o.Close()
	rcv.down.Store(true)
	const calls = 6
	store_(t, st, o, callEvents(calls))
	waitFor(t, clk, 500*time.Millisecond, func() bool { return rcv.hits.Load() >= 3*calls })
	if len(rcv.payloads()) != 0 {
		t.Fatal("delivered while down")
	}
	rcv.down.Store(false)
	waitFor(t, clk, time.Second, func() bool { return len(rcv.payloads()) >= 5*calls })
	checkDelivered(t, rcv.payloads(), calls)
}

// TestOutboxSurvivesRestart: deliveries still pending when the outbox (and the store) close
// are made after a new start on the same database.
func TestOutboxSurvivesRestart(t *testing.T) {
	leaktest.Check(t)
	rcv := newReceiver(t, "k")
	st, path := setupStore(t, rcv.srv.URL, "k")
	clk := clock.NewFake(t0)
	o := New(Config{Store: st, Clock: clk, Logger: quietLogger(), MinBackoff: time.Second, MaxBackoff: 4 * time.Second})
	rcv.down.Store(true)
	const calls = 3
	evs := callEvents(calls)
	store_(t, st, o, evs[:len(evs)/2])
	waitFor(t, clk, 500*time.Millisecond, func() bool { return rcv.hits.Load() >= 2 })
	store_(t, st, o, evs[len(evs)/2:]) // stored while the receiver is down: never attempted before Close
	o.Close()
	st.Close()

	rcv.down.Store(false)
	st2 := openStore(t, path)
	defer st2.Close()
	o2 := New(Config{Store: st2, Clock: clk, Logger: quietLogger(), MinBackoff: time.Second, MaxBackoff: 4 * time.Second})
	defer o2.Close()
	waitFor(t, clk, time.Second, func() bool { return len(rcv.payloads()) >= 5*calls })
	checkDelivered(t, rcv.payloads(), calls)
}

// TestDeadLetters: a receiver that never accepts makes dead letters after MaxAttempts; the
// later events of the call are then tried; retrying the dead letters delivers them.
func TestDeadLetters(t *testing.T) {
	leaktest.Check(t)
	rcv := newReceiver(t, "k")
	st, _ := setupStore(t, rcv.srv.URL, "k")
	defer st.Close()
	clk := clock.NewFake(t0)
	o := New(Config{Store: st, Clock: clk, Logger: quietLogger(), MinBackoff: time.Second, MaxBackoff: 2 * time.Second, MaxAttempts: 3})
	defer o.Close()
	rcv.down.Store(true)
	store_(t, st, o, callEvents(1))
	ctx := context.Background()
	dead := func() []store.WebhookDelivery {
		d, err := st.ListWebhookDeliveries(ctx, testApp, store.DeliveryDead, 100)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	waitFor(t, clk, time.Second, func() bool { return len(dead()) == 5 })
	if hits := rcv.hits.Load(); hits != 15 {
		t.Fatalf("%d attempts, want 3 per event", hits)
	}
	d := dead()[0]
	if d.Attempts != 3 || d.LastError != "HTTP 503" || d.EventID != "call0-5" {
		t.Fatalf("dead letter %+v", d)
	}
	rcv.down.Store(false)
	if n, err := st.RetryDeadWebhooks(ctx, testApp, clk.Now()); err != nil || n != 5 {
		t.Fatalf("retry = %d, %v", n, err)
	}
	o.Kick()
	waitFor(t, clk, time.Second, func() bool { return len(rcv.payloads()) == 5 })
	checkDelivered(t, rcv.payloads(), 1)
}

func TestPayloadOfEnded(t *testing.T) {
	rec := callflow.Record{ID: "c", Caller: "alice", Callee: "bob", CalleeDevice: "b1", InvitedAt: t0, AcceptedAt: t0.Add(time.Second), EndedAt: t0.Add(time.Minute), EndReason: 0, EndedBy: "bob"}
	p := PayloadOf(callflow.Event{Kind: callflow.EventEnded, Seq: 5, CallID: "c", App: testApp, Caller: "alice", Callee: "bob", By: "bob", Record: &rec, At: t0})
	b, _ := json.Marshal(p)
	want := `{"id":"c-5","type":"call.ended","app":"org#app","callId":"c","seq":5,"timestamp":1760000000000,"data":{"caller":"alice","callerDevice":"","callee":"bob","callType":0,"reason":0,"by":"bob","record":{"id":"c","caller":"alice","callerDevice":"","callee":"bob","calleeDevice":"b1","type":0,"ext":"","record":false,"mergeStream":false,"invitedAt":1760000000000,"ringingAt":0,"connectedAt":0,"acceptedAt":1760000001000,"endedAt":1760000060000,"endReason":0,"endedBy":"bob","connectType":0}}}`
	if string(b) != want {
		t.Fatalf("payload\n got %s\nwant %s", b, want)
	}
}

func TestSignVerify(t *testing.T) {
	body := []byte(`{"a":1}`)
	at := time.Unix(1_700_000_000, 0)
	sig := Sign("k", body, at)
	if sig != "t=1700000000,v1="+hex.EncodeToString(mac("k", "1700000000", body)) {
		t.Fatalf("Sign = %s", sig)
	}
	tol := DefaultTolerance
	for _, tc := range []struct {
		name   string
		secret string
		body   []byte
		header string
		now    time.Time
		want   error
	}{
		{"good", "k", body, sig, at.Add(time.Minute), nil},
		{"good, clock behind", "k", body, sig, at.Add(-time.Minute), nil},
		{"rotated secret: two v1", "k", body, "t=1700000000,v1=00," + sig[len("t=1700000000,"):], at, nil},
		{"replayed later", "k", body, sig, at.Add(tol + time.Second), ErrStale},
		{"other secret", "other", body, sig, at, ErrBadSignature},
		{"other body", "k", []byte(`{"a":2}`), sig, at, ErrBadSignature},
		{"timestamp changed", "k", body, "t=1700000300" + sig[len("t=1700000000"):], at, ErrBadSignature},
		{"old format", "k", body, "sha256=00", at, ErrBadSignature},
		{"no timestamp", "k", body, sig[len("t=1700000000,"):], at, ErrBadSignature},
	} {
		if err := Verify(tc.secret, tc.body, tc.header, tc.now, tol); err != tc.want {
			t.Errorf("%s: Verify = %v, want %v", tc.name, err, tc.want)
		}
	}
}

// TestEndedRecordNamesRecordings: the call.ended webhook's record is REST's record type and,
// for a recorded call, carries the serverVideoId its recordings are listed under.
func TestEndedRecordNamesRecordings(t *testing.T) {
	rec := callflow.Record{ID: "c1", App: "o#a", Caller: "alice", Callee: "bob", Record: true}
	p := PayloadOf(callflow.Event{Kind: callflow.EventEnded, CallID: "c1", App: "o#a", Seq: 5, Record: &rec})
	if p.Data.Record == nil || p.Data.Record.ServerVideoID != store.ServerVideoIDOf("o#a", "c1") {
		t.Fatalf("record %+v", p.Data.Record)
	}
	if got := RecordOf(store.CallRecord{ID: "c1", ServerVideoID: "v"}); got.ServerVideoID != "v" {
		t.Fatalf("RecordOf lost serverVideoId: %+v", got)
	}
}
