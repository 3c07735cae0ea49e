package server_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/duet-rtc/duet/protocol"
	"github.com/duet-rtc/duet/server"
	"github.com/duet-rtc/duet/server/servertest"
	"github.com/duet-rtc/duet/server/store"
	"github.com/duet-rtc/duet/server/store/sqlite"
)

// TestDamagedLiveCallEndsFailed: a live call row that cannot be read back is not trusted:
// the server that starts on it ends the call Failed, records it, and keeps the good one.
func TestDamagedLiveCallEndsFailed(t *testing.T) {
	dir := t.TempDir()
	st, err := sqlite.Open(filepath.Join(dir, "duet.db"))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	good := store.LiveCall{ID: "good", App: "demo#duet", Caller: "alice", CallerDevice: "a1", Callee: "bob",
		Type: int(protocol.CallVoice), Legs: []byte(`[{"device":"b1"}]`), InvitedAt: now, RingDeadline: now.Add(time.Hour), Events: 2}
	bad := good
	bad.ID, bad.Caller, bad.Callee, bad.Legs = "bad", "carol", "dave", []byte(`{"half-writ`)
	if err := st.CommitCalls(context.Background(), store.CallBatch{Save: []store.LiveCall{good, bad}}, now); err != nil {
		t.Fatal(err)
	}
	st.Close()

	srv := servertest.Start(t, func(c *server.Config) { c.DataDir = dir })
	srv.FlushCallRecords()
	rec, err := srv.Store().GetCall(context.Background(), "demo#duet", "bad")
	if err != nil || rec.EndReason != int(protocol.EndFailed) || rec.Caller != "carol" || rec.EndedAt.IsZero() {
		t.Fatalf("record of the damaged call %+v, %v", rec, err)
	}
	live, err := srv.Store().LiveCalls(context.Background())
	if err != nil || len(live) != 1 || live[0].ID != "good" {
		t.Fatalf("live calls %+v, %v", live, err)
	}
}
