package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/duet-rtc/duet/server/store"
)

func testRecordings(t *testing.T, s store.Backend) {
	ctx := context.Background()
	base := time.UnixMilli(1763930000000).UTC()
	for i := range 5 {
		typ := store.RecordTypeStream
		if i == 4 {
			typ = store.RecordTypeMerged
		}
		r := store.Recording{
			ID: fmt.Sprintf("r%d", i), App: "org#a", ServerVideoID: "v1", CallID: "c1", Owner: "alice",
			RecordType: typ, Status: store.RecordingReady, File: fmt.Sprintf("v1/r%d.webm", i),
			Begin: base.Add(time.Duration(i) * time.Second), End: base.Add(time.Minute),
			Duration: 59 * time.Second, Size: 1234, Width: 320, Height: 240,
			Expires: base.Add(time.Duration(i) * time.Hour), Created: base,
		}
		if err := s.SaveRecording(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	other := store.Recording{ID: "x", App: "org#b", ServerVideoID: "v1", RecordType: store.RecordTypeStream, Status: store.RecordingActive, Begin: base}
	if err := s.SaveRecording(ctx, other); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetRecording(ctx, "org#a", "r2")
	if err != nil || got.File != "v1/r2.webm" || got.Duration != 59*time.Second || !got.Begin.Equal(base.Add(2*time.Second)) || got.Width != 320 {
		t.Fatalf("GetRecording: %+v %v", got, err)
	}
	if _, err := s.GetRecording(ctx, "org#b", "r2"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("another app's recording: %v", err)
	}
	// Paging, newest first, by serverVideoId.
	var ids []string
	cursor := ""
	for {
		page, next, err := s.ListRecordings(ctx, "org#a", store.RecordingFilter{ServerVideoID: "v1", Limit: 2, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page {
			ids = append(ids, r.ID)
		}
		if cursor = next; cursor == "" {
			break
		}
	}
	if fmt.Sprint(ids) != "[r4 r3 r2 r1 r0]" {
		t.Fatalf("paged ids %v", ids)
	}
	page, _, err := s.ListRecordings(ctx, "org#a", store.RecordingFilter{Since: base.Add(time.Second), Until: base.Add(3 * time.Second)})
	if err != nil || len(page) != 2 || page[0].ID != "r2" {
		t.Fatalf("time range: %+v %v", page, err)
	}
	page, _, err = s.ListRecordings(ctx, "org#a", store.RecordingFilter{RecordType: store.RecordTypeMerged})
	if err != nil || len(page) != 1 || page[0].ID != "r4" {
		t.Fatalf("merged only: %+v %v", page, err)
	}
	if _, _, err := s.ListRecordings(ctx, "org#a", store.RecordingFilter{Cursor: "bogus"}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("bad cursor: %v", err)
	}
	exp, err := s.ExpiredRecordings(ctx, base.Add(150*time.Minute), 10)
	if err != nil || len(exp) != 3 {
		t.Fatalf("expired: %d %v", len(exp), err)
	}
	act, err := s.RecordingsWithStatus(ctx, store.RecordingActive, 10)
	if err != nil || len(act) != 1 || act[0].App != "org#b" {
		t.Fatalf("active: %+v %v", act, err)
	}
	if err := s.DeleteRecording(ctx, "org#a", "r0"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteRecording(ctx, "org#a", "r0"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
}

func testCallServerVideoID(t *testing.T, s store.Backend) {
	ctx := context.Background()
	rec := store.CallRecord{ID: "c1", App: "org#a", Caller: "a", Callee: "b", Record: true, ServerVideoID: "v1", InvitedAt: time.Now()}
	if err := s.SaveCalls(ctx, []store.CallRecord{rec}); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetCall(ctx, "org#a", "c1")
	if err != nil || got.ServerVideoID != "v1" {
		t.Fatalf("GetCall: %+v %v", got, err)
	}
}
