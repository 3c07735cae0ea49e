package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/duet-rtc/duet/server"
)

// addMediaFlags adds the flags of the media relay and the recordings to `duet server`.
func addMediaFlags(f *pflag.FlagSet, cfg *server.Config) {
	loopback, _ := strconv.ParseBool(envOr("DUET_MEDIA_LOOPBACK", "false"))
	f.BoolVar(&cfg.MediaLoopbackOnly, "media-loopback", loopback, "the media relay uses UDP over 127.0.0.1 only (DUET_MEDIA_LOOPBACK); by default it listens on every address and 127.0.0.1, and on loopback alone when the host has nothing else")
	// One port by default: every call on one socket read and written in batches costs the
	// least CPU per packet (server/media/relay), and a firewall needs one UDP port opened.
	cfg.RelayPortMin, cfg.RelayPortMax = defaultRelayPort, defaultRelayPort
	f.Var(&portRange{&cfg.RelayPortMin, &cfg.RelayPortMax}, "relay-ports", "the media relay's UDP port, which every call shares: P-P port P; MIN-MAX the first free port of the range; \"any\" any free port (DUET_RELAY_PORTS)")
	if v := envOr("DUET_RELAY_PORTS", ""); v != "" {
		_ = f.Set("relay-ports", v)
	}
	readers, _ := strconv.Atoi(envOr("DUET_RELAY_READERS", "1"))
	f.IntVar(&cfg.RelayReaders, "relay-readers", readers, "sockets sharing the relay's port, each forwarding on a goroutine of its own: more use more cores for many calls, at more CPU per packet (DUET_RELAY_READERS)")
	f.StringSliceVar(&cfg.RelayPublicIPs, "relay-public-ip", splitList(envOr("DUET_RELAY_PUBLIC_IP", "")), "addresses the media relay announces, behind 1:1 NAT (DUET_RELAY_PUBLIC_IP)")
	f.StringVar(&cfg.RecordingsDir, "recordings", envOr("DUET_RECORDINGS", ""), "folder of call recordings (DUET_RECORDINGS; default DATA/recordings)")
	f.DurationVar(&cfg.RecordingRetention, "recording-retention", envDuration("DUET_RECORDING_RETENTION", 720*time.Hour), "recordings are deleted this long after they end (DUET_RECORDING_RETENTION)")
	f.DurationVar(&cfg.QualityRetention, "quality-retention", envDuration("DUET_QUALITY_RETENTION", 720*time.Hour), "calls' quality samples are deleted this long after they were taken; the records' quality summaries go with them (DUET_QUALITY_RETENTION)")
	f.StringVar(&cfg.FFmpeg, "ffmpeg", envOr("DUET_FFMPEG", ""), "ffmpeg for merged recordings; \"none\" turns merging off (DUET_FFMPEG; default: ffmpeg in PATH)")
}

func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// defaultRelayPort is the media relay's one UDP port unless --relay-ports says otherwise
// (LiveKit's UDP mux port, for the same reason).
const defaultRelayPort = 7882

// portRange is a MIN-MAX flag; "any" (or "") clears it.
type portRange struct{ min, max *uint16 }

func (p *portRange) String() string {
	if p.min == nil || *p.min == 0 {
		return "any"
	}
	return fmt.Sprintf("%d-%d", *p.min, *p.max)
}

func (p *portRange) Set(s string) error {
	if s == "" || s == "any" {
		*p.min, *p.max = 0, 0
		return nil
	}
	lo, hi, ok := strings.Cut(s, "-")
	a, err1 := strconv.ParseUint(lo, 10, 16)
	b, err2 := strconv.ParseUint(hi, 10, 16)
	if !ok || err1 != nil || err2 != nil || a == 0 || b < a {
		return fmt.Errorf("want MIN-MAX ports, e.g. 40000-40999")
	}
	*p.min, *p.max = uint16(a), uint16(b)
	return nil
}

func (p *portRange) Type() string { return "range" }
