package rtc

import (
	"strconv"
	"strings"
	"time"

	"github.com/pion/rtcp"
)

// Bandwidth is what a call allows its live encoders and asks of the peer, in kbit/s.
//
// Our side enforces it in the encoders it feeds (media.BitrateTarget sources: Tone,
// PCMInput, TestPattern, VideoInput); file sources are sent as they were encoded. The peer
// is asked through the session description, per media section: b=AS (kbit/s) and b=TIAS
// (bit/s), and maxaveragebitrate in Opus's fmtp; and, for video, with a REMB every second.
// The same fields in the peer's description cap our encoders in turn.
type Bandwidth struct {
	// MaxAudioKbps caps the Opus encoders; 0 means 32.
	MaxAudioKbps int
	// MaxVideoKbps caps the video encoder and is what we ask the peer to send at most; 0
	// means adaptive up to 2 Mbit/s, and nothing is asked.
	MaxVideoKbps int
	// MinVideoKbps is the floor below which loss never pushes the video bitrate.
	MinVideoKbps int
}

const (
	defaultAudioBps      = 32_000
	adaptiveStartBps     = 600_000
	rembInterval         = time.Second
	maxSignalledKbps     = 100_000
	opusMinBps, opusMax  = 6_000, 510_000
	bandwidthLineEnding  = "\r\n"
	sectionPrefixMedia   = "m="
	fmtpMaxAverageParam  = "maxaveragebitrate"
	rtpmapAttributeStart = "a=rtpmap:"
)

// startVideo is the video target at the start of a call, in bits per second: the cap when
// there is one (the SDK trusts the application's choice), else a typical start rate.
func (b Bandwidth) startVideo() int {
	if b.MaxVideoKbps > 0 {
		return b.MaxVideoKbps * 1000
	}
	return max(adaptiveStartBps, b.MinVideoKbps*1000)
}

// audio is the Opus target in bits per second: our cap, lowered to the peer's.
func (b Bandwidth) audio(remoteCap int) int {
	bps := defaultAudioBps
	if b.MaxAudioKbps > 0 {
		bps = b.MaxAudioKbps * 1000
	}
	if remoteCap > 0 {
		bps = min(bps, remoteCap)
	}
	return min(max(bps, opusMinBps), opusMax)
}

// withBandwidth returns sdp with our limits written into it: b=AS and b=TIAS lines in the
// audio and (when capped) video sections, and maxaveragebitrate in the Opus fmtp. Lines it
// writes replace any it wrote before; everything else is kept as it was.
func withBandwidth(sdp string, bw Bandwidth) string {
	audioKbps := bw.MaxAudioKbps
	if audioKbps <= 0 {
		audioKbps = defaultAudioBps / 1000
	}
	sections := splitSections(sdp)
	var out strings.Builder
	out.Grow(len(sdp) + 200)
	out.WriteString(sections[0])
	for _, sec := range sections[1:] {
		kind := strings.Fields(strings.TrimPrefix(firstLine(sec), sectionPrefixMedia))
		kbps := 0
		if len(kind) > 0 && kind[0] == "audio" {
			kbps = audioKbps
		} else if len(kind) > 0 && kind[0] == "video" {
			kbps = bw.MaxVideoKbps
		}
		out.WriteString(rewriteSection(sec, kbps, kind))
	}
	return out.String()
}

// splitSections splits an SDP into the session part and one part per m= line.
func splitSections(sdp string) []string {
	var parts []string
	rest := sdp
	for {
		i := strings.Index(rest, "\n"+sectionPrefixMedia)
		if i < 0 {
			return append(parts, rest)
		}
		parts = append(parts, rest[:i+1])
		rest = rest[i+1:]
	}
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return strings.TrimRight(s[:i], "\r")
	}
	return strings.TrimRight(s, "\r")
}

// rewriteSection puts b= lines for kbps (0: none) after the section's m=, i= and c= lines,
// as RFC 4566 orders them, and for audio sets maxaveragebitrate on the Opus fmtp.
func rewriteSection(sec string, kbps int, kind []string) string {
	lines := strings.SplitAfter(sec, "\n")
	opusPT := ""
	for _, l := range lines {
		if t := strings.TrimRight(l, "\r\n"); strings.HasPrefix(t, rtpmapAttributeStart) {
			pt, codec, _ := strings.Cut(strings.TrimPrefix(t, rtpmapAttributeStart), " ")
			if strings.HasPrefix(strings.ToLower(codec), "opus/") {
				opusPT = pt
			}
		}
	}
	var out strings.Builder
	inserted := kbps <= 0
	for i, l := range lines {
		t := strings.TrimRight(l, "\r\n")
		if strings.HasPrefix(t, "b=AS:") || strings.HasPrefix(t, "b=TIAS:") {
			continue // ours replace these
		}
		if !inserted && i > 0 && !strings.HasPrefix(t, "i=") && !strings.HasPrefix(t, "c=") {
			out.WriteString("b=AS:" + strconv.Itoa(kbps) + bandwidthLineEnding)
			out.WriteString("b=TIAS:" + strconv.Itoa(kbps*1000) + bandwidthLineEnding)
			inserted = true
		}
		if opusPT != "" && kbps > 0 && strings.HasPrefix(t, "a=fmtp:"+opusPT+" ") {
			l = setFmtpParam(t, fmtpMaxAverageParam, strconv.Itoa(kbps*1000)) + lineEnding(l)
		}
		out.WriteString(l)
	}
	if !inserted && len(kind) > 0 { // a section of just the m= line
		out.WriteString("b=AS:" + strconv.Itoa(kbps) + bandwidthLineEnding)
		out.WriteString("b=TIAS:" + strconv.Itoa(kbps*1000) + bandwidthLineEnding)
	}
	return out.String()
}

func lineEnding(l string) string {
	if strings.HasSuffix(l, "\r\n") {
		return "\r\n"
	}
	if strings.HasSuffix(l, "\n") {
		return "\n"
	}
	return ""
}

// setFmtpParam sets key=value in an a=fmtp line, replacing an earlier value.
func setFmtpParam(line, key, value string) string {
	head, params, _ := strings.Cut(line, " ")
	var kept []string
	for _, p := range strings.Split(params, ";") {
		if k, _, _ := strings.Cut(strings.TrimSpace(p), "="); p != "" && !strings.EqualFold(k, key) {
			kept = append(kept, strings.TrimSpace(p))
		}
	}
	kept = append(kept, key+"="+value)
	return head + " " + strings.Join(kept, ";")
}

// remoteBandwidth reads the limits a peer's description asks for, in bits per second (0:
// none): per kind b=TIAS, else b=AS, and for audio also Opus's maxaveragebitrate (the lower
// wins). Only the first section of each kind counts (one call has one of each).
func remoteBandwidth(sdp string) (audio, video int) {
	seen := map[string]bool{}
	for _, sec := range splitSections(sdp)[1:] {
		fields := strings.Fields(strings.TrimPrefix(firstLine(sec), sectionPrefixMedia))
		if len(fields) == 0 || seen[fields[0]] || (fields[0] != "audio" && fields[0] != "video") {
			continue
		}
		seen[fields[0]] = true
		as, tias, maxavg := 0, 0, 0
		opusPT := ""
		for _, l := range strings.Split(sec, "\n") {
			t := strings.TrimSpace(l)
			switch {
			case strings.HasPrefix(t, "b=AS:"):
				as = positive(strings.TrimPrefix(t, "b=AS:")) * 1000
			case strings.HasPrefix(t, "b=TIAS:"):
				tias = positive(strings.TrimPrefix(t, "b=TIAS:"))
			case strings.HasPrefix(t, rtpmapAttributeStart):
				pt, codec, _ := strings.Cut(strings.TrimPrefix(t, rtpmapAttributeStart), " ")
				if strings.HasPrefix(strings.ToLower(codec), "opus/") {
					opusPT = pt
				}
			}
		}
		if opusPT != "" {
			for _, l := range strings.Split(sec, "\n") {
				t := strings.TrimSpace(l)
				if strings.HasPrefix(t, "a=fmtp:"+opusPT+" ") {
					_, params, _ := strings.Cut(t, " ")
					for _, p := range strings.Split(params, ";") {
						if k, v, ok := strings.Cut(strings.TrimSpace(p), "="); ok && strings.EqualFold(k, fmtpMaxAverageParam) {
							maxavg = positive(v)
						}
					}
				}
			}
		}
		bps := tias
		if bps == 0 {
			bps = as
		}
		if maxavg > 0 && (bps == 0 || maxavg < bps) {
			bps = maxavg
		}
		if fields[0] == "audio" {
			audio = bps
		} else {
			video = bps
		}
	}
	return audio, video
}

// positive parses a bandwidth value; anything unusable (remote input) counts as no limit.
func positive(s string) int {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n <= 0 || n > maxSignalledKbps*1000 {
		return 0
	}
	return n
}

// applyRemoteBandwidth caps our encoders at what the peer's description asks.
func (p *Peer) applyRemoteBandwidth(sdp string) {
	audio, video := remoteBandwidth(sdp)
	p.rateMu.Lock()
	p.audioCap = audio
	vt := 0
	if p.rate != nil {
		vt = p.rate.SetRemoteCap(video)
	}
	p.rateMu.Unlock()
	if p.audio != nil {
		p.audio.setBitrate(p.bw.audio(audio))
	}
	if p.video != nil {
		p.video.setBitrate(vt)
	}
	if audio > 0 || video > 0 {
		p.log.Debug("peer asks for bandwidth limits", "audioBps", audio, "videoBps", video)
	}
}

// videoTarget returns the video encoder's target in bits per second, 0 without video.
func (p *Peer) videoTarget() int {
	p.rateMu.Lock()
	defer p.rateMu.Unlock()
	if p.rate == nil {
		return 0
	}
	return p.rate.Target()
}

// sendREMB tells the peer every second how fast it may send us video: our MaxVideoKbps. A
// browser's congestion controller takes it as an upper bound.
func (p *Peer) sendREMB() {
	defer p.wg.Done()
	t := time.NewTicker(rembInterval)
	defer t.Stop()
	bps := float32(p.bw.MaxVideoKbps * 1000)
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
		}
		ssrc := p.remoteVideoSSRC.Load()
		if ssrc == 0 {
			continue
		}
		if err := p.pc.WriteRTCP([]rtcp.Packet{&rtcp.ReceiverEstimatedMaximumBitrate{Bitrate: bps, SSRCs: []uint32{ssrc}}}); err != nil {
			p.log.Debug("REMB not sent", "err", err)
		}
	}
}
