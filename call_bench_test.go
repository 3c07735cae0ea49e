package duet_test

import (
	"sort"
	"testing"
	"time"

	"github.com/duet-rtc/duet"
	"github.com/duet-rtc/duet/media"
	"github.com/duet-rtc/duet/server/servertest"
)

// percentiles reports p50 and p95 of samples in milliseconds.
func percentiles(b *testing.B, name string, samples []time.Duration) {
	if len(samples) == 0 {
		return
	}
	sort.Slice(samples, func(i, j int) bool { return samples[i] < samples[j] })
	at := func(q float64) float64 {
		return float64(samples[int(q*float64(len(samples)-1))]) / float64(time.Millisecond)
	}
	b.ReportMetric(at(0.50), name+"-p50-ms")
	b.ReportMetric(at(0.95), name+"-p95-ms")
}

// BenchmarkCallSetup measures, per full call between two SDK clients over loopback:
// invite → CallDidReceive at the callee, and accept → first remote RTP and first complete
// VP8 keyframe at the caller (the callee pre-connected while ringing). Run with
// -benchtime=30x; each iteration is one whole call.
func BenchmarkCallSetup(b *testing.B) {
	srv := servertest.Start(b)
	alice, recA := newClient(b, srv, "alice")
	bob, recB := newClient(b, srv, "bob")
	var counter *media.FrameCounter
	alice.CallManager().SetMediaOptions(duet.MediaOptions{
		RemoteSinks: func(*duet.CallSession) (media.Sink, media.Sink) { return nil, counter },
	})
	bob.CallManager().SetMediaOptions(duet.MediaOptions{
		VideoSource: func(*duet.CallSession) (media.Source, error) { return media.OpenIVF(testIVF) },
	})
	var invite, firstRTP, firstFrame []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		counter = media.NewFrameCounter(media.CodecVP8, nil)
		t0 := time.Now()
		s, err := alice.CallManager().StartCall(ctxT(b), duet.CallTypeVideo, "bob", "")
		if err != nil {
			b.Fatal(err)
		}
		in := recB.wait(b, "receive")
		invite = append(invite, in.at.Sub(t0))
		recA.wait(b, "connect")
		recB.wait(b, "connect")
		tAccept := time.Now()
		if err := bob.CallManager().AnswerIncomingCall(ctxT(b), s.CallID()); err != nil {
			b.Fatal(err)
		}
		st, err := counter.Wait(ctxT(b), func(st media.CounterStats) bool { return st.Keyframes > 0 })
		if err != nil {
			b.Fatalf("no keyframe: %v", err)
		}
		firstRTP = append(firstRTP, st.FirstPacketAt.Sub(tAccept))
		firstFrame = append(firstFrame, st.FirstKeyframeAt.Sub(tAccept))
		if err := alice.CallManager().EndCall(ctxT(b), s.CallID(), duet.EndReasonHangup); err != nil {
			b.Fatal(err)
		}
		recA.wait(b, "end")
		recB.wait(b, "end")
	}
	b.StopTimer()
	percentiles(b, "invite-receive", invite)
	percentiles(b, "accept-firstrtp", firstRTP)
	percentiles(b, "accept-firstframe", firstFrame)
}
