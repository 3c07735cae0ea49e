package media

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// wavBytes builds a 16-bit PCM WAV.
func wavBytes(rate, channels int, samples []int16) []byte {
	b := []byte("RIFF\x00\x00\x00\x00WAVEfmt ")
	b = binary.LittleEndian.AppendUint32(b, 16)
	b = binary.LittleEndian.AppendUint16(b, 1)
	b = binary.LittleEndian.AppendUint16(b, uint16(channels))
	b = binary.LittleEndian.AppendUint32(b, uint32(rate))
	b = binary.LittleEndian.AppendUint32(b, uint32(rate*channels*2))
	b = binary.LittleEndian.AppendUint16(b, uint16(channels*2))
	b = binary.LittleEndian.AppendUint16(b, 16)
	b = append(b, "LIST\x03\x00\x00\x00abc\x00"...) // an odd-sized chunk, padded
	b = append(b, "data"...)
	b = binary.LittleEndian.AppendUint32(b, uint32(2*len(samples)))
	for _, s := range samples {
		b = binary.LittleEndian.AppendUint16(b, uint16(s))
	}
	return b
}

func TestReadWAV(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.wav")
	if err := os.WriteFile(path, wavBytes(16000, 1, []int16{1, -2, 300}), 0o644); err != nil {
		t.Fatal(err)
	}
	s, rate, ch, err := ReadWAV(path)
	if err != nil || rate != 16000 || ch != 1 || len(s) != 3 || s[1] != -2 || s[2] != 300 {
		t.Fatalf("%v %d %d %v", s, rate, ch, err)
	}
	for name, data := range map[string][]byte{
		"not riff":  []byte("hello world, not a wav"),
		"no data":   wavBytes(16000, 1, nil)[:44],
		"8-bit":     append(wavBytes(8000, 1, []int16{1})[:34], append([]byte{8, 0}, wavBytes(8000, 1, []int16{1})[36:]...)...),
		"truncated": []byte("RIFF\x00\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01"),
	} {
		p := filepath.Join(dir, "bad.wav")
		os.WriteFile(p, data, 0o644)
		if _, _, _, err := ReadWAV(p); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestReadY4M(t *testing.T) {
	dir := t.TempDir()
	frame := make([]byte, 4*2*3/2)
	frame[0] = 7
	data := append([]byte("YUV4MPEG2 W4 H2 F25:1 Ip A1:1 C420jpeg XYSCSS=420JPEG\n"), "FRAME\n"...)
	data = append(data, frame...)
	data = append(data, "FRAME Ixyz\n"...)
	data = append(data, frame...)
	path := filepath.Join(dir, "a.y4m")
	os.WriteFile(path, data, 0o644)
	v, err := ReadY4M(path)
	if err != nil {
		t.Fatal(err)
	}
	if v.Width != 4 || v.Height != 2 || len(v.Frames) != 2 || v.FrameDuration != 40*time.Millisecond || v.Frames[1][0] != 7 {
		t.Fatalf("%+v", v)
	}
	if f := v.Frame(3, time.Second); f.Width != 4 || f.Format != PixelI420 || f.Timestamp != time.Second {
		t.Fatalf("Frame: %+v", f)
	}
	for name, d := range map[string]string{
		"not y4m":   "hello\n",
		"444":       "YUV4MPEG2 W4 H2 C444\nFRAME\n",
		"odd":       "YUV4MPEG2 W3 H2\nFRAME\n",
		"short":     "YUV4MPEG2 W4 H2\nFRAME\nab",
		"no frames": "YUV4MPEG2 W4 H2\n",
	} {
		p := filepath.Join(dir, "bad.y4m")
		os.WriteFile(p, []byte(d), 0o644)
		if _, err := ReadY4M(p); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
