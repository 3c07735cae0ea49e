package media

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/pion/webrtc/v4/pkg/media/oggreader"
)

// OpenOgg opens an Ogg/Opus file as a looping Source of Opus packets, each with the duration
// read from its TOC byte. Pages may hold any number of packets (ffmpeg, opusenc); the whole
// file is loaded into memory, up to 64 MiB.
func OpenOgg(path string) (Source, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, err
	}
	samples, err := parseOggOpus(data)
	if err != nil {
		return nil, fmt.Errorf("media: %s: %w", path, err)
	}
	return &fileSource{codec: CodecOpus, samples: samples}, nil
}

func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("media: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("media: %w", err)
	}
	if len(data) > maxFileBytes {
		return nil, fmt.Errorf("media: %s is larger than %d bytes", path, maxFileBytes)
	}
	return data, nil
}

// parseOggOpus returns the audio packets of the first logical Opus stream in data.
func parseOggOpus(data []byte) ([]Sample, error) {
	r := bytes.NewReader(data)
	// The channel count and pre-skip in OpusHead do not matter here: each packet's TOC says
	// how it decodes, and a receiver's decoder is always set up for 48 kHz stereo.
	ogg, _, err := oggreader.NewWith(r)
	if err != nil {
		return nil, fmt.Errorf("not an Ogg/Opus file: %w", err)
	}

	var (
		samples  []Sample
		partial  []byte // a packet continued on the next page
		seenTags bool
		serial   uint32
		haveSer  bool
	)
	for {
		start := r.Size() - int64(r.Len())
		payload, page, err := ogg.ParseNextPage()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("bad Ogg page: %w", err)
		}
		if !haveSer {
			serial, haveSer = page.Serial, true
		}
		if page.Serial != serial {
			continue // another logical stream: not ours
		}
		// oggreader concatenates a page's packets; the lacing values in the raw page header
		// (27 fixed bytes, a count, then one byte per segment) say where each one ends.
		raw := data[start:]
		lacing := raw[27 : 27+int(raw[26])]
		off := 0
		for _, l := range lacing {
			partial = append(partial, payload[off:off+int(l)]...)
			off += int(l)
			if l == 255 {
				continue // the packet goes on in the next segment
			}
			pkt := partial
			partial = nil
			if !seenTags {
				// The packet after OpusHead is OpusTags, which may span pages.
				seenTags = true
				continue
			}
			if len(pkt) == 0 {
				continue
			}
			d, err := opusDuration(pkt)
			if err != nil {
				return nil, err
			}
			samples = append(samples, Sample{Data: pkt, Duration: d})
		}
	}
	if len(samples) == 0 {
		return nil, errors.New("no Opus audio packets")
	}
	return samples, nil
}

// opusDuration reads a packet's duration from its TOC byte (RFC 6716, section 3.1).
func opusDuration(pkt []byte) (time.Duration, error) {
	if len(pkt) == 0 {
		return 0, errors.New("empty Opus packet")
	}
	toc := pkt[0]
	config := toc >> 3
	var frame time.Duration
	switch {
	case config < 12: // SILK-only: 10, 20, 40, 60 ms
		frame = [...]time.Duration{10, 20, 40, 60}[config&3] * time.Millisecond
	case config < 16: // hybrid: 10, 20 ms
		frame = [...]time.Duration{10, 20}[config&1] * time.Millisecond
	default: // CELT-only: 2.5, 5, 10, 20 ms
		frame = [...]time.Duration{2500, 5000, 10000, 20000}[config&3] * time.Microsecond
	}
	frames := 1
	switch toc & 3 {
	case 1, 2:
		frames = 2
	case 3:
		if len(pkt) < 2 {
			return 0, errors.New("code 3 packet without a frame count")
		}
		frames = int(pkt[1] & 0x3f)
	}
	d := frame * time.Duration(frames)
	if d <= 0 || d > 120*time.Millisecond {
		return 0, fmt.Errorf("packet of %v (frame count %d) is not valid Opus", d, frames)
	}
	return d, nil
}
