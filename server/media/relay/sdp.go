package relay

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/pion/sdp/v3"

	"github.com/duet-rtc/duet/internal/codecs"
)

// The relay answers a device's offer itself (pion/sdp parses it): one bundled ICE and DTLS
// transport, rtcp-mux, the first audio and the first video section answered with Opus and
// VP8 at the offer's payload types (the only codecs the relay forwards; no RTX, no header
// extensions), every other section rejected. Sections of a kind the call does not carry are
// answered inactive.

// offerInfo is what the relay takes from an offer.
type offerInfo struct {
	ufrag, pwd string
	fp         fingerprint
	media      []offerMedia
	candidates []string // a=candidate values, in order, without duplicates
	bundle     bool     // the offer has a BUNDLE group
}

// offerMedia is one m-section of an offer and how the relay answers it.
type offerMedia struct {
	desc     *sdp.MediaDescription
	mid      string
	kind     Kind
	accepted bool   // answered with a codec (else rejected)
	pt       uint8  // the offer's payload type of the relay's codec
	ssrc     uint32 // the device's media SSRC, if it says
	dir      string // the offer's direction
}

var errOffer = errors.New("relay: unusable offer")

// parseOffer reads an offer. It refuses an offer without ICE credentials, a fingerprint,
// or an audio or video section the relay can answer.
func parseOffer(raw string) (*offerInfo, error) {
	var s sdp.SessionDescription
	if err := s.UnmarshalString(raw); err != nil {
		return nil, fmt.Errorf("%w: %v", errOffer, err)
	}
	o := &offerInfo{}
	o.ufrag, _ = s.Attribute("ice-ufrag")
	o.pwd, _ = s.Attribute("ice-pwd")
	fp, _ := s.Attribute("fingerprint")
	setup, _ := s.Attribute("setup")
	if g, ok := s.Attribute("group"); ok && strings.HasPrefix(g, "BUNDLE") {
		o.bundle = true
	}
	seen := map[string]bool{}
	var have [2]bool
	for _, md := range s.MediaDescriptions {
		m := offerMedia{desc: md, dir: "sendrecv"}
		m.mid, _ = md.Attribute("mid")
		for _, a := range md.Attributes {
			switch a.Key {
			case "ice-ufrag":
				o.ufrag = a.Value
			case "ice-pwd":
				o.pwd = a.Value
			case "fingerprint":
				fp = a.Value
			case "setup":
				setup = a.Value
			case "candidate":
				if !seen[a.Value] && len(o.candidates) < maxPendingCandidates {
					seen[a.Value] = true
					o.candidates = append(o.candidates, a.Value)
				}
			case "sendrecv", "sendonly", "recvonly", "inactive":
				m.dir = a.Key
			}
		}
		switch md.MediaName.Media {
		case "audio":
			m.kind = Audio
		case "video":
			m.kind = Video
		default:
			o.media = append(o.media, m) // rejected
			continue
		}
		if pt, ok := payloadType(md, m.kind); ok && !have[m.kind] && md.MediaName.Port.Value != 0 {
			have[m.kind] = true
			m.accepted, m.pt, m.ssrc = true, pt, mediaSSRC(md)
		}
		o.media = append(o.media, m)
	}
	f := strings.Fields(fp)
	switch {
	case o.ufrag == "" || o.pwd == "":
		return nil, fmt.Errorf("%w: no ICE credentials", errOffer)
	case len(f) != 2 || hashOf(f[0]) == nil:
		return nil, fmt.Errorf("%w: no usable fingerprint", errOffer)
	case setup == "passive":
		return nil, fmt.Errorf("%w: the relay is always the DTLS server", errOffer)
	case !have[Audio] && !have[Video]:
		return nil, fmt.Errorf("%w: no Opus audio or VP8 video", errOffer)
	}
	o.fp = fingerprint{alg: f[0], value: f[1]}
	return o, nil
}

// payloadType finds the offer's payload type for the relay's codec of kind k.
func payloadType(md *sdp.MediaDescription, k Kind) (uint8, bool) {
	want, rate := "opus", "48000"
	if k == Video {
		want, rate = "vp8", "90000"
	}
	for _, a := range md.Attributes {
		if a.Key != "rtpmap" {
			continue
		}
		pt, codec, ok := strings.Cut(a.Value, " ")
		if !ok {
			continue
		}
		parts := strings.Split(codec, "/")
		if len(parts) < 2 || !strings.EqualFold(parts[0], want) || parts[1] != rate {
			continue
		}
		if n, err := strconv.ParseUint(pt, 10, 7); err == nil {
			return uint8(n), true
		}
	}
	return 0, false
}

// mediaSSRC is the section's media SSRC: the first of an FID group (the second is RTX),
// else the first a=ssrc; 0 when the offer names none.
func mediaSSRC(md *sdp.MediaDescription) uint32 {
	first := uint32(0)
	for _, a := range md.Attributes {
		var v string
		switch {
		case a.Key == "ssrc-group" && strings.HasPrefix(a.Value, "FID "):
			f := strings.Fields(a.Value)
			if len(f) < 2 {
				continue
			}
			v = f[1]
		case a.Key == "ssrc" && first == 0:
			v, _, _ = strings.Cut(a.Value, " ")
		default:
			continue
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			continue
		}
		if a.Key == "ssrc-group" {
			return uint32(n)
		}
		first = uint32(n)
	}
	return first
}

// answerDirection is the direction that answers an offer's.
func answerDirection(offered string) string {
	switch offered {
	case "sendonly":
		return "recvonly"
	case "recvonly":
		return "sendonly"
	case "inactive":
		return "inactive"
	}
	return "sendrecv"
}

// answerParams is what the relay's answer says besides the offer's sections.
type answerParams struct {
	ufrag, pwd  string
	fingerprint string // the relay's sha-256
	ssrc        [2]uint32
	carries     func(Kind) bool
}

// buildAnswer writes the answer to o.
func buildAnswer(o *offerInfo, p answerParams, sessionID uint64) string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\r\n", args...) }
	w("v=0")
	w("o=- %d 1 IN IP4 0.0.0.0", sessionID)
	w("s=-")
	w("t=0 0")
	var mids []string
	for _, m := range o.media {
		if m.accepted {
			mids = append(mids, m.mid)
		}
	}
	if o.bundle {
		w("a=group:BUNDLE %s", strings.Join(mids, " "))
	}
	w("a=msid-semantic: WMS duet-relay")
	for _, m := range o.media {
		md := m.desc
		if !m.accepted {
			fmts := "0"
			if len(md.MediaName.Formats) > 0 {
				fmts = strings.Join(md.MediaName.Formats, " ")
			}
			w("m=%s 0 %s %s", md.MediaName.Media, strings.Join(md.MediaName.Protos, "/"), fmts)
			w("c=IN IP4 0.0.0.0")
			if m.mid != "" {
				w("a=mid:%s", m.mid)
			}
			continue
		}
		w("m=%s 9 UDP/TLS/RTP/SAVPF %d", md.MediaName.Media, m.pt)
		w("c=IN IP4 0.0.0.0")
		w("a=ice-ufrag:%s", p.ufrag)
		w("a=ice-pwd:%s", p.pwd)
		w("a=ice-options:trickle")
		w("a=fingerprint:sha-256 %s", p.fingerprint)
		w("a=setup:passive")
		w("a=mid:%s", m.mid)
		w("a=rtcp-mux")
		if m.kind == Audio {
			w("a=rtpmap:%d opus/48000/2", m.pt)
			w("a=fmtp:%d %s", m.pt, codecs.OpusFmtp)
		} else {
			w("a=rtpmap:%d VP8/90000", m.pt)
			for _, fb := range []string{"goog-remb", "ccm fir", "nack", "nack pli"} {
				w("a=rtcp-fb:%d %s", m.pt, fb)
			}
		}
		dir := answerDirection(m.dir)
		if !p.carries(m.kind) {
			dir = "inactive"
		}
		w("a=%s", dir)
		if ssrc := p.ssrc[m.kind]; ssrc != 0 && (dir == "sendrecv" || dir == "sendonly") {
			w("a=msid:duet-relay %s", m.kind)
			w("a=ssrc:%d cname:duet-relay", ssrc)
			w("a=ssrc:%d msid:duet-relay %s", ssrc, m.kind)
		}
	}
	return b.String()
}
