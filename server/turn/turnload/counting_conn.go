package turnload

import (
	"encoding/binary"
	"net"
	"sync/atomic"

	"golang.org/x/net/ipv4"
)

// countingConn is a TURN client's socket that counts load packets arriving as ChannelData
// and hands everything else (STUN: responses, Data indications) to pion. Reading many
// datagrams per system call keeps the load generator's own cost low, so it measures the
// server, not itself.
type countingConn struct {
	*net.UDPConn
	batch    *ipv4.PacketConn
	msgs     []ipv4.Message
	next, n  int // msgs[next:n] are read and not yet looked at
	received atomic.Uint64
}

func newCountingConn(c *net.UDPConn) *countingConn {
	cc := &countingConn{UDPConn: c, batch: ipv4.NewPacketConn(c), msgs: make([]ipv4.Message, 64)}
	for i := range cc.msgs {
		cc.msgs[i].Buffers = [][]byte{make([]byte, 2048)}
	}
	return cc
}

// ReadFrom returns the next datagram that is not a load packet.
func (c *countingConn) ReadFrom(p []byte) (int, net.Addr, error) {
	for {
		for c.next < c.n {
			m := &c.msgs[c.next]
			c.next++
			b := m.Buffers[0][:m.N]
			// ChannelData: a channel number 0x4000-0x7FFF, a length, then the data.
			if len(b) >= 8 && b[0]&0xC0 == 0x40 && binary.BigEndian.Uint32(b[4:]) == magic {
				c.received.Add(1)
				continue
			}
			return copy(p, b), m.Addr, nil
		}
		n, err := c.batch.ReadBatch(c.msgs, 0)
		if err != nil {
			return 0, nil, err
		}
		c.next, c.n = 0, n
	}
}
