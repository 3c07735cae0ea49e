package rtc

import "sync/atomic"

// Stats are the RTP counts of a Peer, per kind.
type Stats struct {
	Audio, Video KindStats
}

// KindStats counts the RTP of one kind, both ways. Bytes are RTP payload bytes;
// retransmissions are not counted.
type KindStats struct {
	PacketsSent, PacketsReceived uint64
	BytesSent, BytesReceived     uint64
}

// rtpCounter counts packets and payload bytes one way for one kind.
type rtpCounter struct{ packets, bytes atomic.Uint64 }

func (c *rtpCounter) add(payload int) {
	c.packets.Add(1)
	c.bytes.Add(uint64(payload))
}

// Stats returns the RTP counts so far. They are the Peer's own counts (pion v4 reports no
// outbound RTP statistics), cheap enough to poll.
func (p *Peer) Stats() Stats {
	kind := func(sent, recv *rtpCounter) KindStats {
		return KindStats{
			PacketsSent: sent.packets.Load(), BytesSent: sent.bytes.Load(),
			PacketsReceived: recv.packets.Load(), BytesReceived: recv.bytes.Load(),
		}
	}
	return Stats{
		Audio: kind(&p.sent[0], &p.recv[0]),
		Video: kind(&p.sent[1], &p.recv[1]),
	}
}

// kindIndex indexes the counters: 0 audio, 1 video.
func kindIndex(kind string) int {
	if kind == kindVideo {
		return 1
	}
	return 0
}
