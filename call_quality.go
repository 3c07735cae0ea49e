package duet

import (
	"context"
	"math"
	"time"

	"github.com/duet-rtc/duet/internal/clock"
	"github.com/duet-rtc/duet/internal/quality"
	"github.com/duet-rtc/duet/internal/rtc"
	"github.com/duet-rtc/duet/protocol"
)

// qualityTick is how often the quality loop looks at the peer: NoData is noticed at most this
// late, and periods end on these ticks.
const qualityTick = 500 * time.Millisecond

// minExpected is the fewest packets a period must have expected before its receive loss
// counts: a paused stream's stray packet must not read as 100 % loss.
const minExpected = 10

// callStats are a session's statistics, the seed's EMCallSession properties; -1 is unknown.
type callStats struct {
	latency, localFPS, remoteFPS, localKbps, remoteKbps, localLoss, remoteLoss int
	remoteW, remoteH                                                           int
}

func unknownStats() callStats {
	return callStats{-1, -1, -1, -1, -1, -1, -1, -1, -1}
}

// qualityLoop measures one call while it sends media (EnableReportQuality): it refreshes
// the session's statistics every period and drives the network-status machine.
type qualityLoop struct {
	stop chan struct{}
	done chan struct{}
}

// startQuality starts the loop for s over peer p. The thresholds are quality's defaults,
// documented in docs/PROTOCOL.md.
func (m *CallManager) startQuality(s *CallSession, p *rtc.Peer) {
	q := &qualityLoop{stop: make(chan struct{}), done: make(chan struct{})}
	s.mu.Lock()
	if s.ended || s.quality != nil {
		s.mu.Unlock()
		return
	}
	s.quality = q
	s.mu.Unlock()
	go m.runQuality(s, p, q)
}

func (m *CallManager) runQuality(s *CallSession, p *rtc.Peer, q *qualityLoop) {
	defer close(q.done)
	th := quality.DefaultThresholds()
	clk := m.c.opts.Clock
	start := clk.Now()
	mon := quality.NewMonitor(start, th)
	tick := clock.NewTicker(clk, qualityTick)
	defer tick.Stop()
	prev, prevAt := p.Stats(), start
	report := func(status NetworkStatus, changed bool) {
		if !changed {
			return
		}
		s.mu.Lock()
		s.network = status
		s.mu.Unlock()
		m.log.Info("call network status", "call", s.callID, "status", status)
		m.notify(func(d CallManagerDelegate) { d.CallNetworkDidChange(s, status) })
	}
	for {
		var now time.Time
		select {
		case <-q.stop:
			return
		case now = <-tick.C:
		}
		st := p.Stats()
		report(mon.Tick(now, st.LastReceived))
		if now.Sub(prevAt) < th.Period-qualityTick/2 {
			continue
		}
		period, stats := measure(prev, st, now.Sub(prevAt), s.callType == CallTypeVideo)
		s.mu.Lock()
		s.stats = mergeStats(s.stats, stats)
		s.mu.Unlock()
		report(mon.EndPeriod(now, period))
		m.reportSample(s, sampleOf(prev, st, now.Sub(prevAt), now))
		prev, prevAt = st, now
	}
}

// stopQuality stops the loop and waits for it.
func (s *CallSession) stopQuality() {
	s.mu.Lock()
	q := s.quality
	s.mu.Unlock()
	if q == nil {
		return
	}
	select {
	case <-q.stop:
	default:
		close(q.stop)
	}
	<-q.done
}

// measure turns two snapshots of a peer's counters, elapsed apart, into the period's input
// to the network-status machine and the call statistics.
func measure(prev, cur rtc.Stats, elapsed time.Duration, video bool) (quality.Period, callStats) {
	sec := elapsed.Seconds()
	per := func(a, b uint64) int { return int(math.Round(float64(b-a) / sec)) }
	kbps := func(a, b uint64) int { return int(math.Round(float64(b-a) * 8 / sec / 1000)) }
	st := unknownStats()
	if cur.RTT > 0 {
		// The round trip, as the browser SDK reports it, so both SDKs say the same.
		st.latency = int(max(cur.RTT.Milliseconds(), 1))
	}
	if video {
		v0, v1 := prev.Video, cur.Video
		if v1.PacketsSent > 0 {
			st.localFPS, st.localKbps = per(v0.FramesSent, v1.FramesSent), kbps(v0.BytesSent, v1.BytesSent)
		}
		if v1.PacketsReceived > 0 {
			st.remoteFPS, st.remoteKbps = per(v0.FramesReceived, v1.FramesReceived), kbps(v0.BytesReceived, v1.BytesReceived)
			st.remoteLoss = 0
			if exp := v1.PacketsExpected - v0.PacketsExpected; exp > 0 {
				st.remoteLoss = int(math.Round(float64(v1.PacketsLost-v0.PacketsLost) * 100 / float64(exp)))
			}
		}
		if v1.RemoteFractionLost >= 0 {
			st.localLoss = int(math.Round(v1.RemoteFractionLost * 100))
		}
		if cur.RemoteVideoWidth > 0 {
			st.remoteW, st.remoteH = cur.RemoteVideoWidth, cur.RemoteVideoHeight
		}
	}
	// The link's loss is the worse direction: what we lost of the peer's media on the wire,
	// and what the peer reports it lost of ours.
	loss := -1.0
	exp := cur.Audio.PacketsExpected - prev.Audio.PacketsExpected + cur.Video.PacketsExpected - prev.Video.PacketsExpected
	if exp >= minExpected {
		lost := cur.Audio.PacketsLost - prev.Audio.PacketsLost + cur.Video.PacketsLost - prev.Video.PacketsLost
		loss = float64(lost) * 100 / float64(exp)
	}
	for _, f := range []float64{cur.Audio.RemoteFractionLost, cur.Video.RemoteFractionLost} {
		if f >= 0 {
			loss = max(loss, f*100)
		}
	}
	return quality.Period{LossPercent: loss, RTT: cur.RTT}, st
}

// mergeStats keeps a known value where the new period knows nothing (a paused stream keeps
// its last resolution rather than going back to -1).
func mergeStats(old, cur callStats) callStats {
	keep := func(o, c int) int {
		if c < 0 {
			return o
		}
		return c
	}
	return callStats{
		latency: keep(old.latency, cur.latency), localFPS: keep(old.localFPS, cur.localFPS),
		remoteFPS: keep(old.remoteFPS, cur.remoteFPS), localKbps: keep(old.localKbps, cur.localKbps),
		remoteKbps: keep(old.remoteKbps, cur.remoteKbps), localLoss: keep(old.localLoss, cur.localLoss),
		remoteLoss: keep(old.remoteLoss, cur.remoteLoss), remoteW: keep(old.remoteW, cur.remoteW),
		remoteH: keep(old.remoteH, cur.remoteH),
	}
}

// reportSample sends the server one period's sample of the call (call.quality, for the
// operator's per-call timeline), with the session's network status and connect type. It is
// one-way and best effort: a sample lost with a connection is not sent again.
func (m *CallManager) reportSample(s *CallSession, smp protocol.QualitySample) {
	s.mu.Lock()
	smp.NetworkStatus, smp.ConnectType = s.network, s.connectType
	if !s.firstMediaSent {
		smp.FirstMediaMs, s.firstMediaSent = s.firstMediaMs()
	}
	id := s.callID
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = m.c.send(ctx, protocol.TypeCallQuality, protocol.CallQuality{CallID: id, Samples: []protocol.QualitySample{smp}})
}

// sampleOf is the server's sample of a period between two snapshots of the peer's
// counters: what the device received and sent, bounded to what the protocol accepts.
func sampleOf(prev, cur rtc.Stats, elapsed time.Duration, now time.Time) protocol.QualitySample {
	sec := max(elapsed.Seconds(), 0.001)
	kbps := func(a, b uint64) float64 { return min(float64(b-a)*8/sec/1000, protocol.MaxQualityKbps) }
	frac := func(f float64) float64 { return min(max(f, 0), 1) }
	smp := protocol.QualitySample{
		At:           now.UnixMilli(),
		RTTMs:        min(float64(cur.RTT.Microseconds())/1000, protocol.MaxQualityMs),
		AudioKbpsIn:  kbps(prev.Audio.BytesReceived, cur.Audio.BytesReceived),
		AudioKbpsOut: kbps(prev.Audio.BytesSent, cur.Audio.BytesSent),
		VideoKbpsIn:  kbps(prev.Video.BytesReceived, cur.Video.BytesReceived),
		VideoKbpsOut: kbps(prev.Video.BytesSent, cur.Video.BytesSent),
		FPSIn:        min(float64(cur.Video.FramesReceived-prev.Video.FramesReceived)/sec, 240),
		WidthIn:      min(cur.RemoteVideoWidth, 8192),
		HeightIn:     min(cur.RemoteVideoHeight, 8192),
	}
	if exp := cur.Audio.PacketsExpected - prev.Audio.PacketsExpected + cur.Video.PacketsExpected - prev.Video.PacketsExpected; exp >= minExpected {
		lost := cur.Audio.PacketsLost - prev.Audio.PacketsLost + cur.Video.PacketsLost - prev.Video.PacketsLost
		smp.LossIn = frac(float64(lost) / float64(exp))
	}
	smp.LossOut = frac(max(cur.Audio.RemoteFractionLost, cur.Video.RemoteFractionLost))
	return smp
}

// firstMediaMs is the time from the accept as this device saw it to the first remote media
// of either kind, for the server's setup metric (protocol.QualitySample.FirstMediaMs), and
// whether it is known. Media that came before the accept counts as 1 ms. Called with s.mu held.
func (s *CallSession) firstMediaMs() (int, bool) {
	var first time.Time
	for _, at := range s.firstRemote {
		if first.IsZero() || at.Before(first) {
			first = at
		}
	}
	if first.IsZero() || s.acceptedAt.IsZero() {
		return 0, false
	}
	return int(min(max(first.Sub(s.acceptedAt).Milliseconds(), 1), protocol.MaxQualityMs)), true
}
