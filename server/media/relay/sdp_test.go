package relay

import (
	"strings"
	"testing"

	"github.com/pion/sdp/v3"
)

// chromeOffer is the shape of a browser's offer: many codecs, RTX with an FID group, header
// extensions, and a data channel section.
const chromeOffer = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1 2\r\n" +
	"m=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0\r\nc=IN IP4 0.0.0.0\r\na=ice-ufrag:uF\r\na=ice-pwd:pwpwpwpwpwpwpwpwpwpwpwpw\r\n" +
	"a=fingerprint:sha-256 AA:BB:CC\r\na=setup:actpass\r\na=mid:0\r\na=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level\r\n" +
	"a=sendrecv\r\na=rtcp-mux\r\na=rtpmap:111 opus/48000/2\r\na=fmtp:111 minptime=10;useinbandfec=1\r\na=rtpmap:63 red/48000/2\r\n" +
	"a=rtpmap:9 G722/8000\r\na=rtpmap:0 PCMU/8000\r\na=ssrc:1111 cname:x\r\n" +
	"a=candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host generation 0\r\n" +
	"m=video 9 UDP/TLS/RTP/SAVPF 100 101 102\r\nc=IN IP4 0.0.0.0\r\na=mid:1\r\na=sendrecv\r\na=rtcp-mux\r\n" +
	"a=rtpmap:100 VP9/90000\r\na=rtpmap:101 VP8/90000\r\na=rtpmap:102 rtx/90000\r\na=fmtp:102 apt=101\r\n" +
	"a=ssrc-group:FID 2222 3333\r\na=ssrc:2222 cname:x\r\na=ssrc:3333 cname:x\r\n" +
	"a=candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host generation 0\r\n" +
	"m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\na=mid:2\r\na=sctp-port:5000\r\n"

func TestAnswerBrowserOffer(t *testing.T) {
	o, err := parseOffer(chromeOffer)
	if err != nil {
		t.Fatal(err)
	}
	if o.ufrag != "uF" || o.fp.alg != "sha-256" || len(o.candidates) != 1 || len(o.media) != 3 {
		t.Fatalf("parsed %+v", o)
	}
	a, v, d := o.media[0], o.media[1], o.media[2]
	if !a.accepted || a.pt != 111 || a.ssrc != 1111 || !v.accepted || v.pt != 101 || v.ssrc != 2222 || d.accepted {
		t.Fatalf("sections %+v %+v %+v", a, v, d)
	}
	for _, tc := range []struct {
		name     string
		video    bool
		videoDir string
	}{{"audio and video", true, "sendrecv"}, {"audio only", false, "inactive"}} {
		t.Run(tc.name, func(t *testing.T) {
			ans := buildAnswer(o, answerParams{ufrag: "rU", pwd: "rp", fingerprint: "01:02", ssrc: [2]uint32{7, 8},
				carries: func(k Kind) bool { return k == Audio || tc.video }}, 1)
			var s sdp.SessionDescription
			if err := s.UnmarshalString(ans); err != nil {
				t.Fatalf("answer does not parse: %v\n%s", err, ans)
			}
			if len(s.MediaDescriptions) != 3 {
				t.Fatalf("answer has %d sections, want the offer's 3", len(s.MediaDescriptions))
			}
			if g, _ := s.Attribute("group"); g != "BUNDLE 0 1" {
				t.Errorf("group %q", g)
			}
			for i, want := range []struct{ fmts, dir string }{{"111", "sendrecv"}, {"101", tc.videoDir}} {
				md := s.MediaDescriptions[i]
				if strings.Join(md.MediaName.Formats, " ") != want.fmts || md.MediaName.Port.Value != 9 {
					t.Errorf("section %d: %v", i, md.MediaName)
				}
				if _, ok := md.Attribute(want.dir); !ok {
					t.Errorf("section %d: not %s", i, want.dir)
				}
				if setup, _ := md.Attribute("setup"); setup != "passive" {
					t.Errorf("section %d: setup %q", i, setup)
				}
			}
			if s.MediaDescriptions[2].MediaName.Port.Value != 0 {
				t.Error("data channel section not rejected")
			}
		})
	}
}

func TestRefusedOffers(t *testing.T) {
	for name, mutate := range map[string]func(string) string{
		"no credentials":      func(s string) string { return strings.ReplaceAll(s, "a=ice-ufrag:uF\r\n", "") },
		"no fingerprint":      func(s string) string { return strings.ReplaceAll(s, "a=fingerprint:sha-256 AA:BB:CC\r\n", "") },
		"unknown hash":        func(s string) string { return strings.ReplaceAll(s, "sha-256 AA", "md5 AA") },
		"device wants server": func(s string) string { return strings.ReplaceAll(s, "setup:actpass", "setup:passive") },
		"no codec": func(s string) string {
			return strings.NewReplacer("opus/48000", "x/1", "VP8/90000", "y/1").Replace(s)
		},
		"not sdp":         func(string) string { return "hello" },
		"FID without ids": func(s string) string { return strings.ReplaceAll(s, "FID 2222 3333", "FID") },
	} {
		_, err := parseOffer(mutate(chromeOffer))
		if name == "FID without ids" {
			if err != nil {
				t.Errorf("%s: %v", name, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
