package rtc

import (
	"github.com/duet-rtc/duet/protocol"
	"github.com/pion/webrtc/v4"
)

// connectTypeOf maps a selected candidate pair to the seed's connect type: Relay when media
// goes through a TURN server on either side, Direct for host, srflx and prflx pairs.
func connectTypeOf(pair *webrtc.ICECandidatePair) protocol.ConnectType {
	if pair == nil || pair.Local == nil || pair.Remote == nil {
		return protocol.ConnectNone
	}
	if pair.Local.Typ == webrtc.ICECandidateTypeRelay || pair.Remote.Typ == webrtc.ICECandidateTypeRelay {
		return protocol.ConnectRelay
	}
	return protocol.ConnectDirect
}

// ConnectType reports how media flows now: None before ICE has selected a pair.
func (p *Peer) ConnectType() protocol.ConnectType {
	ice := p.iceTransport()
	if ice == nil {
		return protocol.ConnectNone
	}
	pair, err := ice.GetSelectedCandidatePair()
	if err != nil {
		return protocol.ConnectNone
	}
	return connectTypeOf(pair)
}

// iceTransport returns the ICE transport all media shares (the peer bundles everything).
func (p *Peer) iceTransport() *webrtc.ICETransport {
	for _, s := range p.pc.GetSenders() {
		if dt := s.Transport(); dt != nil {
			return dt.ICETransport()
		}
	}
	return nil
}
