package rtc

import (
	"testing"

	"github.com/duet-rtc/duet/protocol"
	"github.com/pion/webrtc/v4"
)

func TestConnectTypeOf(t *testing.T) {
	c := func(typ webrtc.ICECandidateType) *webrtc.ICECandidate { return &webrtc.ICECandidate{Typ: typ} }
	for _, x := range []struct {
		pair *webrtc.ICECandidatePair
		want protocol.ConnectType
	}{
		{nil, protocol.ConnectNone},
		{&webrtc.ICECandidatePair{Local: c(webrtc.ICECandidateTypeHost)}, protocol.ConnectNone},
		{&webrtc.ICECandidatePair{Local: c(webrtc.ICECandidateTypeHost), Remote: c(webrtc.ICECandidateTypeHost)}, protocol.ConnectDirect},
		{&webrtc.ICECandidatePair{Local: c(webrtc.ICECandidateTypeSrflx), Remote: c(webrtc.ICECandidateTypePrflx)}, protocol.ConnectDirect},
		{&webrtc.ICECandidatePair{Local: c(webrtc.ICECandidateTypeRelay), Remote: c(webrtc.ICECandidateTypeHost)}, protocol.ConnectRelay},
		{&webrtc.ICECandidatePair{Local: c(webrtc.ICECandidateTypeHost), Remote: c(webrtc.ICECandidateTypeRelay)}, protocol.ConnectRelay},
	} {
		if got := connectTypeOf(x.pair); got != x.want {
			t.Errorf("%v: %v, want %v", x.pair, got, x.want)
		}
	}
}
