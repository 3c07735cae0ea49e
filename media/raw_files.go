package media

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ReadWAV reads a RIFF/WAVE file of 16-bit PCM: its samples (interleaved when stereo), its
// sample rate and channel count. The SDK's custom audio takes mono at an Opus rate; callers
// check that. The whole file is read into memory, up to 64 MiB.
func ReadWAV(path string) (samples []int16, rate, channels int, err error) {
	data, err := readFile(path)
	if err != nil {
		return nil, 0, 0, err
	}
	samples, rate, channels, err = parseWAV(data)
	if err != nil {
		return nil, 0, 0, fmt.Errorf("media: %s: %w", path, err)
	}
	return samples, rate, channels, nil
}

func parseWAV(data []byte) ([]int16, int, int, error) {
	if len(data) < 12 || string(data[0:4]) != "RIFF" || string(data[8:12]) != "WAVE" {
		return nil, 0, 0, errors.New("not a RIFF/WAVE file")
	}
	var (
		rate, channels, bits int
		haveFmt              bool
	)
	for p := 12; p+8 <= len(data); {
		id, size := string(data[p:p+4]), int(binary.LittleEndian.Uint32(data[p+4:p+8]))
		p += 8
		if size < 0 || size > len(data)-p {
			size = len(data) - p // a streamed file's data size may be unset: take the rest
		}
		body := data[p : p+size]
		switch id {
		case "fmt ":
			if len(body) < 16 {
				return nil, 0, 0, errors.New("short fmt chunk")
			}
			format := binary.LittleEndian.Uint16(body[0:2])
			channels = int(binary.LittleEndian.Uint16(body[2:4]))
			rate = int(binary.LittleEndian.Uint32(body[4:8]))
			bits = int(binary.LittleEndian.Uint16(body[14:16]))
			if format != 1 && format != 0xfffe { // PCM, or WAVE_FORMAT_EXTENSIBLE
				return nil, 0, 0, fmt.Errorf("WAV format %d: only PCM is supported", format)
			}
			haveFmt = true
		case "data":
			if !haveFmt {
				return nil, 0, 0, errors.New("data before fmt")
			}
			if bits != 16 || channels < 1 || channels > 2 || rate <= 0 {
				return nil, 0, 0, fmt.Errorf("WAV of %d-bit, %d channels, %d Hz: want 16-bit mono or stereo", bits, channels, rate)
			}
			samples := make([]int16, len(body)/2)
			for i := range samples {
				samples[i] = int16(binary.LittleEndian.Uint16(body[2*i:]))
			}
			if len(samples) == 0 {
				return nil, 0, 0, errors.New("no samples")
			}
			return samples, rate, channels, nil
		}
		p += size + size&1 // chunks are padded to even sizes
	}
	return nil, 0, 0, errors.New("no data chunk")
}

// Y4M is a YUV4MPEG2 video read into memory: 4:2:0 frames for the SDK's custom video.
type Y4M struct {
	Width, Height int
	// FrameDuration is one frame's duration from the header's frame rate (default 30 fps).
	FrameDuration time.Duration
	// Frames hold one I420 picture each (Y, then U, then V).
	Frames [][]byte
}

// Frame returns frame i as a RawFrame stamped at ts.
func (v *Y4M) Frame(i int, ts time.Duration) RawFrame {
	return RawFrame{Format: PixelI420, Width: v.Width, Height: v.Height, Data: v.Frames[i%len(v.Frames)], Timestamp: ts}
}

// ReadY4M reads a YUV4MPEG2 file of 4:2:0 frames (as `ffmpeg -pix_fmt yuv420p -f
// yuv4mpegpipe` writes), up to 64 MiB.
func ReadY4M(path string) (*Y4M, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, err
	}
	v, err := parseY4M(data)
	if err != nil {
		return nil, fmt.Errorf("media: %s: %w", path, err)
	}
	return v, nil
}

func parseY4M(data []byte) (*Y4M, error) {
	nl := bytes.IndexByte(data, '\n')
	if nl < 0 || !bytes.HasPrefix(data, []byte("YUV4MPEG2 ")) {
		return nil, errors.New("not a YUV4MPEG2 file")
	}
	v := &Y4M{FrameDuration: time.Second / 30}
	for _, f := range strings.Fields(string(data[10:nl])) {
		val := f[1:]
		switch f[0] {
		case 'W':
			v.Width, _ = strconv.Atoi(val)
		case 'H':
			v.Height, _ = strconv.Atoi(val)
		case 'F':
			num, den, ok := strings.Cut(val, ":")
			n, err1 := strconv.Atoi(num)
			d, err2 := strconv.Atoi(den)
			if ok && err1 == nil && err2 == nil && n > 0 && d > 0 && n/d <= 240 {
				v.FrameDuration = time.Duration(int64(time.Second) * int64(d) / int64(n))
			}
		case 'C':
			if !strings.HasPrefix(val, "420") {
				return nil, fmt.Errorf("colour space C%s: only 4:2:0 is supported", val)
			}
		}
	}
	if v.Width <= 0 || v.Height <= 0 || v.Width > 4096 || v.Height > 4096 || v.Width%2 != 0 || v.Height%2 != 0 {
		return nil, fmt.Errorf("frame size %dx%d: want even sizes up to 4096", v.Width, v.Height)
	}
	size := v.Width * v.Height * 3 / 2
	for p := nl + 1; p < len(data); {
		end := bytes.IndexByte(data[p:], '\n')
		if end < 0 || !bytes.HasPrefix(data[p:], []byte("FRAME")) {
			return nil, fmt.Errorf("frame %d: no FRAME header", len(v.Frames))
		}
		p += end + 1
		if p+size > len(data) {
			return nil, fmt.Errorf("frame %d is cut short", len(v.Frames))
		}
		v.Frames = append(v.Frames, data[p:p+size])
		p += size
	}
	if len(v.Frames) == 0 {
		return nil, errors.New("no frames")
	}
	return v, nil
}
