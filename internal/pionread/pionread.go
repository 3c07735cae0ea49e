// Package pionread holds the read-loop rule shared by the SDK's peers (internal/rtc) and the
// server's relay: pion returns an error for each packet it cannot read, and only some errors
// mean the stream is over.
package pionread

import (
	"errors"
	"io"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
)

// Errors counts consecutive read errors. A malformed packet from the remote is an error for
// that packet only and must not end the reading (which would stop RTCP and NACK handling);
// the end of the stream, or errors that keep coming, do.
type Errors int

// Stop counts err and reports whether the reading should end.
func (n *Errors) Stop(err error) bool {
	*n++
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrClosedPipe) || *n > 100
}

// RTCPReader is what pion's RTPSender and RTPReceiver have in common.
type RTCPReader interface {
	ReadRTCP() ([]rtcp.Packet, interceptor.Attributes, error)
}

// RTCP reads r until it ends, passing every batch read to handle: reading is also what lets
// the interceptors (NACK responder, reports) see the RTCP.
func RTCP(r RTCPReader, handle func([]rtcp.Packet)) {
	var bad Errors
	for {
		pkts, _, err := r.ReadRTCP()
		if err != nil {
			if bad.Stop(err) {
				return
			}
			continue
		}
		bad = 0
		handle(pkts)
	}
}
