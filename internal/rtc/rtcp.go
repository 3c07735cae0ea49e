package rtc

import (
	"time"

	"github.com/pion/rtcp"
)

// touch records that something arrived from the peer.
func (p *Peer) touch() { p.lastRecv.Store(time.Now().UnixNano()) }

// senderRTCP handles the RTCP the peer sends about one of our tracks (ssrc): keyframe
// requests, receiver reports (loss, round trip) and REMB.
func (p *Peer) senderRTCP(kind string, ssrc uint32, pu *pump, pkts []rtcp.Packet) {
	now := time.Now()
	for _, pkt := range pkts {
		switch pk := pkt.(type) {
		case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
			if kind == kindVideo {
				pu.requestKeyframe()
			}
		case *rtcp.ReceiverReport:
			p.onReports(kind, ssrc, now, pk.Reports)
		case *rtcp.SenderReport:
			p.onReports(kind, ssrc, now, pk.Reports)
		case *rtcp.ReceiverEstimatedMaximumBitrate:
			if kind == kindVideo && p.rate != nil && pk.Bitrate > 0 {
				p.rateMu.Lock()
				target := p.rate.OnREMB(int(min(pk.Bitrate, 1e9)))
				p.rateMu.Unlock()
				pu.setBitrate(target)
			}
		}
	}
}

// maxRTT bounds a plausible round trip; anything larger is a clock or parsing artefact.
const maxRTT = 10 * time.Second

// onReports takes the report blocks about our stream ssrc: the fraction lost, and the round
// trip from the echoed sender-report time (RFC 3550 section 6.4.1). For video the loss also
// drives the rate controller, with audio's loss as a second opinion: audio is not
// retransmitted, so its reports show the link's loss even when NACK repairs the video.
func (p *Peer) onReports(kind string, ssrc uint32, now time.Time, reports []rtcp.ReceptionReport) {
	link := &p.link[kindIndex(kind)]
	for _, r := range reports {
		if r.SSRC != ssrc {
			continue
		}
		link.remoteLoss.Store(int32(r.FractionLost))
		if r.LastSenderReport != 0 {
			// Compact NTP (16.16 seconds) arithmetic wraps, so a signed difference is right.
			d := int32(ntpCompact(now) - r.LastSenderReport - r.Delay)
			if rtt := time.Duration(int64(d) * int64(time.Second) >> 16); rtt >= 0 && rtt < maxRTT {
				p.rtt.Store(int64(rtt))
			}
		}
		if kind != kindVideo || p.rate == nil || p.video == nil {
			continue
		}
		frac := float64(r.FractionLost) / 256
		if a := p.link[0].remoteLoss.Load(); a >= 0 {
			frac = max(frac, float64(a)/256)
		}
		p.rateMu.Lock()
		target := p.rate.OnLoss(now, frac)
		p.rateMu.Unlock()
		p.video.setBitrate(target)
	}
}

// ntpCompact is the middle 32 bits of t's NTP timestamp, the unit of LSR and DLSR.
func ntpCompact(t time.Time) uint32 {
	const ntpEpochOffset = 2208988800 // seconds from 1900 to 1970
	secs := uint64(t.Unix()) + ntpEpochOffset
	frac := (uint64(t.Nanosecond()) << 32) / uint64(time.Second)
	return uint32(secs<<16 | frac>>16)
}
