package api

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/duet-rtc/duet/internal/clock"
	"github.com/duet-rtc/duet/protocol"
	"github.com/duet-rtc/duet/server/account"
	"github.com/duet-rtc/duet/server/store"
	"github.com/duet-rtc/duet/server/store/sqlite"
)

// dirFiles keeps recording files in a folder, as server/recording does.
type dirFiles struct {
	dir string
	st  store.RecordingStore
}

func (d dirFiles) Open(r store.Recording) (*os.File, error) {
	if r.File == "" {
		return nil, os.ErrNotExist
	}
	return os.Open(filepath.Join(d.dir, r.File))
}

func (d dirFiles) Delete(ctx context.Context, r store.Recording) error {
	if r.File != "" {
		if err := os.Remove(filepath.Join(d.dir, r.File)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return d.st.DeleteRecording(ctx, r.App, r.ID)
}

// newRecordingEnv is newEnv with the recording routes mounted over a folder of files.
func newRecordingEnv(t *testing.T) (*tenv, string) {
	t.Helper()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "duet.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	clk := clock.NewFake(start)
	acct := account.New(st, clk)
	acct.Hash = account.HashParams{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
	e := &tenv{t: t, acct: acct, st: st, clk: clk, ctx: context.Background()}
	dir := t.TempDir()
	mux := http.NewServeMux()
	a := New(acct, st, adminToken, nil)
	a.Routes(mux)
	a.RecordingRoutes(mux, dirFiles{dir, st})
	e.srv = httptest.NewServer(mux)
	t.Cleanup(e.srv.Close)
	e.open = e.mkApp("o", "open", store.RegistrationOpen)
	e.other = e.mkApp("o", "other", store.RegistrationOpen)
	return e, dir
}

func TestRecordingsREST(t *testing.T) {
	e, dir := newRecordingEnv(t)
	body := []byte(strings.Repeat("0123456789", 300))
	if err := os.WriteFile(filepath.Join(dir, "a.webm"), body, 0o600); err != nil {
		t.Fatal(err)
	}
	save := func(r store.Recording) {
		if err := e.st.SaveRecording(e.ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	save(store.Recording{ID: "ra", App: e.open.Key, ServerVideoID: "v1", CallID: "c1", Owner: "alice",
		RecordType: store.RecordTypeStream, Status: store.RecordingReady, File: "a.webm",
		Begin: start, End: start.Add(time.Minute), Duration: time.Minute, Size: int64(len(body)), Expires: start.Add(time.Hour)})
	save(store.Recording{ID: "rm", App: e.open.Key, ServerVideoID: "v1", CallID: "c1", Owner: "alice",
		RecordType: store.RecordTypeMerged, Status: store.RecordingMerging, Begin: start})
	save(store.Recording{ID: "rx", App: e.other.Key, ServerVideoID: "v1", RecordType: store.RecordTypeStream, Status: store.RecordingReady, Begin: start})
	tok := e.appToken(e.open, time.Hour)
	otherTok := e.appToken(e.other, time.Hour)

	var list Response[Recording]
	e.ok("GET", "/o/open/recordings?serverVideoId=v1", tok, nil, &list)
	if list.Count != 2 || list.Entities[0].ID != "rm" && list.Entities[1].ID != "rm" {
		t.Fatalf("list: %+v", list.Entities)
	}
	e.ok("GET", "/o/open/audio/v1", tok, nil, &list)
	if list.Count != 2 {
		t.Fatalf("Easemob path: %d", list.Count)
	}
	e.ok("GET", "/o/open/recordings?type=MERGE_ALL", tok, nil, &list)
	if list.Count != 1 || list.Entities[0].URL != "" || list.Entities[0].Status != store.RecordingMerging {
		t.Fatalf("merged only: %+v", list.Entities)
	}
	var one Response[Recording]
	e.ok("GET", "/o/open/recordings/ra", tok, nil, &one)
	r := one.Entities[0]
	if r.Owner != "alice" || r.Duration != 60000 || r.Size != int64(len(body)) || r.ExpireTime != start.Add(time.Hour).UnixMilli() ||
		!strings.HasSuffix(r.URL, "/o/open/recordings/ra/file") || r.RecordType != store.RecordTypeStream {
		t.Fatalf("get: %+v", r)
	}
	// Another app's token sees nothing of this app, and this app nothing of the other's.
	e.fail("other app's token", "GET", "/o/open/recordings/ra", otherTok, nil, http.StatusUnauthorized, protocol.CodeInvalidToken, nameBadToken)
	e.fail("other app's recording", "GET", "/o/open/recordings/rx", tok, nil, http.StatusNotFound, protocol.CodeNotFound, nameNotFound)
	e.fail("no token", "GET", "/o/open/recordings", "", nil, http.StatusUnauthorized, protocol.CodeInvalidToken, nameUnauthorized)
	e.fail("bad type", "GET", "/o/open/recordings?type=x", tok, nil, http.StatusBadRequest, protocol.CodeUserIllegalArgument, nameIllegalArgument)
	userTok := func() string { e.mkUsers(e.open, "alice"); return e.userToken(e.open, "alice") }()
	e.fail("user token", "GET", "/o/open/recordings", userTok, nil, http.StatusUnauthorized, protocol.CodeInvalidToken, nameBadToken)

	// Download, whole and ranged.
	get := func(rng string) (int, []byte) {
		req, _ := http.NewRequest("GET", e.srv.URL+"/o/open/recordings/ra/file", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		if rng != "" {
			req.Header.Set("Range", rng)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	if st, b := get(""); st != http.StatusOK || string(b) != string(body) {
		t.Fatalf("download: %d, %d bytes", st, len(b))
	}
	if st, b := get("bytes=100-199"); st != http.StatusPartialContent || string(b) != string(body[100:200]) {
		t.Fatalf("ranged download: %d %q", st, b)
	}
	e.fail("no file yet", "GET", "/o/open/recordings/rm/file", tok, nil, http.StatusNotFound, protocol.CodeNotFound, nameNotFound)

	// Delete: not while merging; then the file and the row go.
	e.fail("delete while merging", "DELETE", "/o/open/recordings/rm", tok, nil, http.StatusConflict, protocol.CodeUserIllegalArgument, nameIllegalArgument)
	e.ok("DELETE", "/o/open/recordings/ra", tok, nil, nil)
	if _, err := os.Stat(filepath.Join(dir, "a.webm")); !os.IsNotExist(err) {
		t.Fatalf("file after delete: %v", err)
	}
	e.fail("deleted", "GET", "/o/open/recordings/ra", tok, nil, http.StatusNotFound, protocol.CodeNotFound, nameNotFound)

	// The client wraps the same endpoints.
	c := &RecordingClient{BaseURL: e.srv.URL, AppKey: e.open.Key, Token: tok}
	recs, next, err := c.List(e.ctx, RecordingQuery{ServerVideoID: "v1", Limit: 1})
	if err != nil || len(recs) != 1 || next != "" {
		t.Fatalf("client list: %+v %q %v", recs, next, err)
	}
	var ae *Error
	if _, err := c.Get(e.ctx, "ra"); !errors.As(err, &ae) || ae.Code != protocol.CodeNotFound {
		t.Fatalf("client get of a deleted recording: %v", err)
	}
}
