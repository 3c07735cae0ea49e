package pushtest

import (
	"encoding/json"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/duet-rtc/duet/server/webhook"
)

// Hook is one signed POST the receiver accepted.
type Hook struct {
	Event   string // X-Duet-Event
	EventID string // X-Duet-Event-Id
	Body    []byte
	JSON    map[string]any
}

// Receiver is a local webhook endpoint. It refuses requests whose X-Duet-Signature does
// not match the body under Secret (401, counted in BadSignatures), answers 503 while Down,
// and records the others.
type Receiver struct {
	*httptest.Server
	Secret        string
	Down          atomic.Bool
	Requests      atomic.Int64
	BadSignatures atomic.Int64
	// GoneStatus, when set, is answered instead of 204 (e.g. 410: token unknown).
	GoneStatus atomic.Int64
	rec        *recorder[Hook]
}

// NewReceiver starts a TLS receiver that checks signatures with secret.
func NewReceiver(t testing.TB, secret string) *Receiver {
	t.Helper()
	r := &Receiver{Secret: secret, rec: newRecorder[Hook]()}
	r.Server = httptest.NewUnstartedServer(http.HandlerFunc(r.serve))
	r.StartTLS()
	t.Cleanup(r.Close)
	return r
}

// Wait returns the next accepted request, or fails the test after d.
func (r *Receiver) Wait(t testing.TB, d time.Duration) Hook { return r.rec.wait(t, "webhook", d) }

// None asserts that nothing is accepted within d.
func (r *Receiver) None(t testing.TB, d time.Duration) { r.rec.none(t, "webhook", d) }

// Hooks returns every accepted request so far.
func (r *Receiver) Hooks() []Hook { return r.rec.all() }

func (r *Receiver) serve(w http.ResponseWriter, req *http.Request) {
	r.Requests.Add(1)
	body, _ := io.ReadAll(io.LimitReader(req.Body, 1<<20))
	// The push service may run on a fake clock: the signature is checked, not its age.
	if webhook.Verify(r.Secret, body, req.Header.Get(webhook.SignatureHeader), time.Now(), math.MaxInt64) != nil {
		r.BadSignatures.Add(1)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if r.Down.Load() {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	h := Hook{Event: req.Header.Get(webhook.EventHeader), EventID: req.Header.Get(webhook.EventIDHeader), Body: body}
	_ = json.Unmarshal(body, &h.JSON)
	if s := r.GoneStatus.Load(); s != 0 {
		w.WriteHeader(int(s))
		return
	}
	r.rec.add(h)
	w.WriteHeader(http.StatusNoContent)
}
