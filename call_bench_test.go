package duet_test

import (
	"sort"
	"testing"
	"time"

	"github.com/duet-rtc/duet"
	"github.com/duet-rtc/duet/media"
	"github.com/duet-rtc/duet/server"
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
// invite → CallDidReceive at the callee; accept → first remote RTP and first complete VP8
// keyframe at the caller (the callee's video: the answer's reply is one hop); and accept →
// first complete keyframe at the callee (the caller's video: call.accepted must reach the
// caller first). Both sides pre-connected while ringing. Run with -benchtime=30x; each
// iteration is one whole call. The fresh-pion baseline is BenchmarkFreshSetupFirstFrame in
// internal/rtc: run both in one command.
func BenchmarkCallSetup(b *testing.B) { benchCallSetup(b) }

// BenchmarkRecordedCallSetup is BenchmarkCallSetup for recorded calls: each party's device
// pre-connects to the server's relay while ringing, and the media crosses the relay. Run
// both in one command to compare:
//
//	go test -run '^$' -bench 'CallSetup' -benchtime 100x .
func BenchmarkRecordedCallSetup(b *testing.B) { benchCallSetup(b, duet.WithRecord(false)) }

func benchCallSetup(b *testing.B, opts ...duet.StartCallOption) {
	// Back-to-back calls send more than a device's 50 messages/s; lift the limit here.
	srv := servertest.Start(b, func(c *server.Config) { c.DeviceRateLimit = -1 })
	alice, recA := newClient(b, srv, "alice")
	bob, recB := newClient(b, srv, "bob")
	var atAlice, atBob *media.FrameCounter
	openIVF := func(*duet.CallSession) (media.Source, error) { return media.OpenIVF(testIVF) }
	alice.CallManager().SetMediaOptions(duet.MediaOptions{
		VideoSource: openIVF,
		RemoteSinks: func(*duet.CallSession) (media.Sink, media.Sink) { return nil, atAlice },
	})
	bob.CallManager().SetMediaOptions(duet.MediaOptions{
		VideoSource: openIVF,
		RemoteSinks: func(*duet.CallSession) (media.Sink, media.Sink) { return nil, atBob },
	})
	var invite, firstRTP, firstFrame, firstFrameCallee []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		atAlice = media.NewFrameCounter(media.CodecVP8, nil)
		atBob = media.NewFrameCounter(media.CodecVP8, nil)
		t0 := time.Now()
		s, err := alice.CallManager().StartCall(ctxT(b), duet.CallTypeVideo, "bob", "", opts...)
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
		keyframe := func(st media.CounterStats) bool { return st.Keyframes > 0 }
		st, err := atAlice.Wait(ctxT(b), keyframe)
		if err != nil {
			b.Fatalf("no keyframe at the caller: %v", err)
		}
		firstRTP = append(firstRTP, st.FirstPacketAt.Sub(tAccept))
		firstFrame = append(firstFrame, st.FirstKeyframeAt.Sub(tAccept))
		if st, err = atBob.Wait(ctxT(b), keyframe); err != nil {
			b.Fatalf("no keyframe at the callee: %v", err)
		}
		firstFrameCallee = append(firstFrameCallee, st.FirstKeyframeAt.Sub(tAccept))
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
	percentiles(b, "accept-firstframe-callee", firstFrameCallee)
	b.ReportMetric(float64(stalls(firstFrame)+stalls(firstFrameCallee)), "stalls")
}

// stalls counts the first frames that took longer than 250 ms: a lost keyframe, waited for
// until the sender's next one.
func stalls(samples []time.Duration) int {
	n := 0
	for _, d := range samples {
		if d > 250*time.Millisecond {
			n++
		}
	}
	return n
}
