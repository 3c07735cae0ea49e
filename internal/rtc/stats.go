package rtc

import (
	"sync/atomic"
	"time"
)

// Stats are what a Peer measured: RTP counts per kind, and what RTCP says about the link.
type Stats struct {
	Audio, Video KindStats
	// RTT is the latest round-trip time from the peer's receiver reports; 0 before one.
	RTT time.Duration
	// LastReceived is when the last RTP or RTCP packet from the peer arrived (zero: none).
	// RTCP flows even while the peer pauses its media, so a silence here means the link.
	LastReceived time.Time
	// RemoteVideoWidth and RemoteVideoHeight are the size of the last received VP8
	// keyframe; 0 before one.
	RemoteVideoWidth, RemoteVideoHeight int
	// VideoTargetBitrate is the bitrate the Peer asks of a live video encoder, in bits per
	// second (see Bandwidth); 0 without video.
	VideoTargetBitrate int
}

// KindStats counts the RTP of one kind, both ways. Bytes are RTP payload bytes;
// retransmissions are not counted as sent (they are as received).
type KindStats struct {
	PacketsSent, PacketsReceived uint64
	BytesSent, BytesReceived     uint64
	// FramesSent counts samples sent; FramesReceived counts complete-frame markers (video)
	// or packets (audio).
	FramesSent, FramesReceived uint64
	// PacketsExpected and PacketsLost describe the received stream on the wire: the span of
	// sequence numbers seen and the gaps skipped in it (a retransmission that fills a gap
	// later does not undo it: this is the link's loss, not what NACK left over).
	PacketsExpected, PacketsLost uint64
	// RemoteFractionLost is the share (0–1) of our packets of this kind that the peer's
	// latest receiver report says were lost; negative before a report.
	RemoteFractionLost float64
}

// rtpCounter counts packets, payload bytes and frames one way for one kind.
type rtpCounter struct{ packets, bytes, frames atomic.Uint64 }

func (c *rtpCounter) add(payload int) {
	c.packets.Add(1)
	c.bytes.Add(uint64(payload))
}

// Stats returns the RTP counts so far. They are the Peer's own counts (pion v4 reports no
// outbound RTP statistics), cheap enough to poll.
func (p *Peer) Stats() Stats {
	kind := func(i int) KindStats {
		sent, recv, link := &p.sent[i], &p.recv[i], &p.link[i]
		return KindStats{
			PacketsSent: sent.packets.Load(), BytesSent: sent.bytes.Load(), FramesSent: sent.frames.Load(),
			PacketsReceived: recv.packets.Load(), BytesReceived: recv.bytes.Load(), FramesReceived: recv.frames.Load(),
			PacketsExpected: link.expected.Load(), PacketsLost: link.lost.Load(),
			RemoteFractionLost: float64(link.remoteLoss.Load()) / 256,
		}
	}
	st := Stats{
		Audio:              kind(0),
		Video:              kind(1),
		RTT:                time.Duration(p.rtt.Load()),
		RemoteVideoWidth:   int(p.remoteW.Load()),
		RemoteVideoHeight:  int(p.remoteH.Load()),
		VideoTargetBitrate: p.videoTarget(),
	}
	if ns := p.lastRecv.Load(); ns != 0 {
		st.LastReceived = time.Unix(0, ns)
	}
	return st
}

// linkStats is what one kind's RTP and RTCP say about the link.
type linkStats struct {
	expected, lost atomic.Uint64 // the received stream, from sequence numbers
	remoteLoss     atomic.Int32  // the peer's last fraction lost of our stream ×256; -1 none
}

// seqTracker follows the sequence numbers of one received stream (on its reader
// goroutine) and counts the gaps into linkStats.
type seqTracker struct {
	started bool
	highest uint16
}

func (t *seqTracker) push(seq uint16, l *linkStats) {
	if !t.started {
		t.started, t.highest = true, seq
		l.expected.Add(1)
		return
	}
	// The signed distance tells a newer packet from a late one across wrap-around.
	if d := int16(seq - t.highest); d > 0 {
		l.expected.Add(uint64(d))
		l.lost.Add(uint64(d - 1))
		t.highest = seq
	}
}

// kindIndex indexes the counters: 0 audio, 1 video.
func kindIndex(kind string) int {
	if kind == kindVideo {
		return 1
	}
	return 0
}
