package store

import (
	"context"
	"time"
)

// Recording types, as Easemob names them.
const (
	RecordTypeStream = "ONLY_REC_ONE_AV" // one party's audio and video
	RecordTypeMerged = "MERGE_ALL"       // both parties composed into one file
)

// Recording statuses.
const (
	RecordingActive           = "recording"         // being written
	RecordingReady            = "ready"             // complete, downloadable
	RecordingMerging          = "merging"           // the merge job runs or waits
	RecordingMergeUnavailable = "merge_unavailable" // no ffmpeg on the server: only the per-stream files exist
	RecordingFailed           = "failed"            // nothing usable (Detail says why)
	RecordingInterrupted      = "interrupted"       // the server stopped mid-call: the file plays up to that point
)

// Recording is one recorded file of a call: a party's stream, or the merged composite.
type Recording struct {
	ID            string
	App           string
	ServerVideoID string // shared by every recording of one call (the seed's serverVideoId)
	CallID        string
	Owner         string // the party's username; the caller for a merged recording
	RecordType    string // RecordTypeStream or RecordTypeMerged
	Status        string
	Detail        string // why a recording failed or is unavailable
	File          string // path relative to the recordings folder
	Begin         time.Time
	End           time.Time // zero while recording
	Duration      time.Duration
	Size          int64
	Width, Height int // picture size, 0 for voice
	Expires       time.Time
	Created       time.Time
}

// RecordingFilter selects recordings. Zero fields do not filter.
type RecordingFilter struct {
	ServerVideoID string
	RecordType    string
	Since         time.Time // began at or after
	Until         time.Time // began before
	Cursor        string    // from a previous page
	Limit         int       // 1-100, default 20
}

// RecordingStore keeps recordings. store/sqlite implements it next to Store.
type RecordingStore interface {
	// SaveRecording inserts or replaces a recording, keyed by (App, ID).
	SaveRecording(ctx context.Context, r Recording) error
	GetRecording(ctx context.Context, app, id string) (Recording, error)
	// ListRecordings returns recordings of one app, newest (by Begin) first, and the cursor
	// of the next page ("" when there is none).
	ListRecordings(ctx context.Context, app string, f RecordingFilter) ([]Recording, string, error)
	// DeleteRecording removes one recording (ErrNotFound if there is none).
	DeleteRecording(ctx context.Context, app, id string) error
	// ExpiredRecordings returns up to limit recordings, of any app, that expired before t.
	ExpiredRecordings(ctx context.Context, t time.Time, limit int) ([]Recording, error)
	// RecordingsWithStatus returns up to limit recordings, of any app, with status.
	RecordingsWithStatus(ctx context.Context, status string, limit int) ([]Recording, error)
}
