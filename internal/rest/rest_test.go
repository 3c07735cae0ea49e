package rest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/duet-rtc/duet/protocol"
)

// TestErrors: the server's coded error bodies keep their code, a 503 is ServerBusy (a node
// going away: try another), anything else is ServerUnknown, no answer ServerNotReachable.
func TestErrors(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/o/a/coded":
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"error":"x","error_description":"no","code":204}`))
		case "/o/a/busy":
			w.WriteHeader(http.StatusServiceUnavailable)
		case "/o/a/teapot":
			w.WriteHeader(http.StatusTeapot)
		default:
			_, _ = w.Write([]byte(`{"n":7}`))
		}
	}))
	defer srv.Close()
	c := &Client{HTTP: srv.Client(), AppPath: "/o/a"}
	ctx := context.Background()
	for path, want := range map[string]protocol.ErrorCode{
		"/coded": protocol.CodeUserNotFound, "/busy": protocol.CodeServerBusy, "/teapot": protocol.CodeServerUnknown,
	} {
		if err := c.Do(ctx, srv.URL, http.MethodGet, path, "", nil, nil); protocol.CodeOf(err) != want {
			t.Errorf("%s: %v, want %d", path, err, want)
		}
	}
	var out struct{ N int }
	if err := c.Do(ctx, srv.URL, http.MethodGet, "/ok", "tok", map[string]int{}, &out); err != nil || out.N != 7 {
		t.Fatalf("ok: %v %+v", err, out)
	}
	if err := c.Do(ctx, "http://127.0.0.1:1", http.MethodGet, "/x", "", nil, nil); protocol.CodeOf(err) != protocol.CodeServerNotReachable {
		t.Fatalf("unreachable: %v", err)
	}
}
