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
	// PruneQualitySamples deletes the samples taken before before, and reports how many.
	PruneQualitySamples(ctx context.Context, before time.Time) (int64, error)
}
