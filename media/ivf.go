package media

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/pion/webrtc/v4/pkg/media/ivfreader"
)

// OpenIVF opens an IVF file of VP8 frames as a looping Source. Frame durations come from the
// timestamps and the file's timebase. The first frame must be a keyframe, so that Restart
// always leads to a decodable picture. The whole file is loaded into memory, up to 64 MiB.
func OpenIVF(path string) (Source, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, err
	}
	samples, err := parseIVF(data)
	if err != nil {
		return nil, fmt.Errorf("media: %s: %w", path, err)
	}
	return &fileSource{codec: CodecVP8, samples: samples}, nil
}

func parseIVF(data []byte) ([]Sample, error) {
	r := bytes.NewReader(data)
	ivf, header, err := ivfreader.NewWith(r)
	if err != nil {
		return nil, fmt.Errorf("not an IVF file: %w", err)
	}
	if header.FourCC != "VP80" {
		return nil, fmt.Errorf("IVF codec %q: only VP8 (VP80) is supported", header.FourCC)
	}
	// ivfreader reports a frame's timestamp as pts·den/num where a pts unit lasts num/den
	// seconds, so a difference of timestamps converts to seconds by (num/den)².
	unit := float64(header.TimebaseNumerator) / float64(header.TimebaseDenominator)
	toDuration := func(ts uint64) time.Duration {
		return time.Duration(float64(ts) * unit * unit * float64(time.Second))
	}
	nominal := time.Duration(unit * float64(time.Second)) // one pts unit: a frame at constant rate
	if !plausibleFrameDuration(nominal) {
		nominal = time.Second / 30
	}

	var (
		samples []Sample
		stamps  []uint64
	)
	for {
		// ivfreader allocates the size a frame header claims before reading it; refuse sizes
		// beyond the end of the file so that a corrupt header cannot ask for gigabytes.
		if r.Len() >= 12 {
			var size [4]byte
			_, _ = r.ReadAt(size[:], r.Size()-int64(r.Len()))
			if int64(binary.LittleEndian.Uint32(size[:])) > int64(r.Len()-12) {
				return nil, fmt.Errorf("IVF frame %d runs past the end of the file", len(samples))
			}
		}
		frame, fh, err := ivf.ParseNextFrame()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("bad IVF frame %d: %w", len(samples), err)
		}
		if len(frame) == 0 {
			continue
		}
		samples = append(samples, Sample{Data: frame, Keyframe: IsVP8Keyframe(frame)})
		stamps = append(stamps, fh.Timestamp)
	}
	if len(samples) == 0 {
		return nil, errors.New("no VP8 frames")
	}
	if !samples[0].Keyframe {
		return nil, errors.New("first frame is not a keyframe")
	}
	// A frame lasts until the next one starts; the last one as long as the one before it.
	for i := range samples {
		d := nominal
		if i+1 < len(samples) && stamps[i+1] > stamps[i] {
			d = toDuration(stamps[i+1] - stamps[i])
		} else if i > 0 {
			d = samples[i-1].Duration
		}
		if !plausibleFrameDuration(d) {
			d = nominal
		}
		samples[i].Duration = d
	}
	return samples, nil
}

func plausibleFrameDuration(d time.Duration) bool {
	return d >= time.Millisecond && d <= time.Second
}

// IsVP8Keyframe reports whether frame, a VP8 frame without RTP payload descriptor, is a
// keyframe: bit 0 of the frame tag is 0 for keyframes (RFC 6386, section 9.1).
func IsVP8Keyframe(frame []byte) bool {
	return len(frame) > 0 && frame[0]&0x01 == 0
}

// VP8Size returns the picture size carried by a VP8 keyframe, or ok false when frame is not
// a keyframe or too short.
func VP8Size(frame []byte) (width, height int, ok bool) {
	// Keyframe header: 3-byte frame tag, start code 9d 01 2a, then 14-bit width and height.
	if !IsVP8Keyframe(frame) || len(frame) < 10 || frame[3] != 0x9d || frame[4] != 0x01 || frame[5] != 0x2a {
		return 0, 0, false
	}
	w := binary.LittleEndian.Uint16(frame[6:8]) & 0x3fff
	h := binary.LittleEndian.Uint16(frame[8:10]) & 0x3fff
	return int(w), int(h), true
}
