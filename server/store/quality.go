package store

import (
	"context"
	"time"
)

// QualitySample is one quality sample a device reported for a call (protocol.QualitySample,
// kept as the JSON it came in), for the call's quality timeline.
type QualitySample struct {
	App, CallID  string
	User, Device string
	At           time.Time // when the device measured it
	Data         []byte    // the sample's JSON
}

// QualityStore keeps the quality timelines of calls.
type QualityStore interface {
	// AddQualitySamples stores samples (of any calls) in one transaction.
	AddQualitySamples(ctx context.Context, samples []QualitySample) error
	// QualitySamples returns up to limit samples of a call, by At, then in the order they
	// were stored.
	QualitySamples(ctx context.Context, app, callID string, limit int) ([]QualitySample, error)
	// PruneQualitySamples deletes the samples taken before before, and reports how many,
	// and the summaries of calls that ended before it.
	PruneQualitySamples(ctx context.Context, before time.Time) (int64, error)
	// AddQualitySummaries keeps the summaries of calls that ended (final: their timelines
	// no longer change), in one transaction. A call whose summary is kept already keeps it:
	// the first writer wins, as two nodes may sum the same call up at once.
	AddQualitySummaries(ctx context.Context, summaries []QualitySummary) error
	// QualitySummaries returns the kept summaries of those of callIDs that have one, by
	// call id.
	QualitySummaries(ctx context.Context, app string, callIDs []string) (map[string]QualitySummary, error)
}

// QualitySummary is the summary of an ended call's quality per party, as the call's record
// carries it (JSON; "null" when nobody reported), kept so that reading records does not sum
// timelines up again, after a restart or on another node.
type QualitySummary struct {
	App, CallID string
	EndedAt     time.Time // pruned with the samples: after the quality retention
	Data        []byte
}
