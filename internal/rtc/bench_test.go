package rtc

import (
	"slices"
	"testing"
	"time"

	"github.com/duet-rtc/duet/media"
)

// Run with a bounded count, e.g.:
//
//	go test -run '^$' -bench FirstFrame -benchtime=50x ./internal/rtc/
//
// Each iteration sets up a fresh pair of peers over loopback; only the measured span counts.

// BenchmarkPreconnectedFirstFrame measures accept → first picture with pre-connect: the pair
// is connected (ICE and DTLS up, no media) before the clock starts; then the callee starts
// sending and the clock stops when the caller has a complete VP8 keyframe.
func BenchmarkPreconnectedFirstFrame(b *testing.B) {
	var spans []time.Duration
	for range b.N {
		b.StopTimer()
		caller, callee := newPair(b, Config{Audio: true, Video: true})
		waitConnected(b, caller, callee)
		video := openSource(b, media.OpenIVF, patternFile)
		b.StartTimer()

		start := time.Now()
		if err := callee.peer.StartSending(media.NewSilence(), video); err != nil {
			b.Fatal(err)
		}
		s := waitFor(b, "keyframe", caller.video, func(s media.CounterStats) bool { return s.Keyframes > 0 })
		spans = append(spans, s.FirstKeyframeAt.Sub(start))

		b.StopTimer()
		closeSides(b, caller, callee)
		b.StartTimer()
	}
	reportSpans(b, spans)
}

// BenchmarkFreshSetupFirstFrame is the baseline without pre-connect: the clock starts at
// CreateOffer; the callee starts sending when its transport is up (as soon as it can
// without dropping the first keyframe), and the clock stops at the caller's first complete
// keyframe.
func BenchmarkFreshSetupFirstFrame(b *testing.B) {
	var spans []time.Duration
	for range b.N {
		b.StopTimer()
		caller := newSide(b, Config{Audio: true, Video: true})
		callee := newSide(b, Config{Audio: true, Video: true})
		caller.other.Store(callee.peer)
		callee.other.Store(caller.peer)
		video := openSource(b, media.OpenIVF, patternFile)
		b.StartTimer()

		start := time.Now()
		negotiate(b, caller, callee)
		waitConnected(b, callee)
		if err := callee.peer.StartSending(media.NewSilence(), video); err != nil {
			b.Fatal(err)
		}
		s := waitFor(b, "keyframe", caller.video, func(s media.CounterStats) bool { return s.Keyframes > 0 })
		spans = append(spans, s.FirstKeyframeAt.Sub(start))

		b.StopTimer()
		closeSides(b, caller, callee)
		b.StartTimer()
	}
	reportSpans(b, spans)
}

// reportSpans reports the median and 95th percentile in milliseconds.
func reportSpans(b *testing.B, spans []time.Duration) {
	if len(spans) == 0 {
		return
	}
	slices.Sort(spans)
	at := func(q float64) float64 {
		return float64(spans[int(q*float64(len(spans)-1)+0.5)]) / float64(time.Millisecond)
	}
	b.ReportMetric(at(0.50), "p50-ms")
	b.ReportMetric(at(0.95), "p95-ms")
}

// BenchmarkNewAPI is the cost of a per-peer pion API (media engine, interceptors, settings),
// which is why there is no shared one.
func BenchmarkNewAPI(b *testing.B) {
	b.ReportAllocs()
	for range b.N {
		if _, err := newAPI(Config{Audio: true, Video: true, LoopbackOnly: true}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkNewPeer is the cost of a whole Peer before any signalling: API, peer connection
// (with its DTLS certificate) and transceivers.
func BenchmarkNewPeer(b *testing.B) {
	b.ReportAllocs()
	for range b.N {
		p, err := NewPeer(Config{Audio: true, Video: true, LoopbackOnly: true}, Events{})
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		p.Close()
		b.StartTimer()
	}
}
