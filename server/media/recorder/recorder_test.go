package recorder

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"

	"github.com/duet-rtc/duet/media"

	"github.com/duet-rtc/duet/internal/leaktest"
)

const (
	testIVF = "../../../testdata/media/pattern-320x240.ivf"
	testOgg = "../../../testdata/media/tone-440.ogg"
)

// timedPacket is one packet and when it "arrives".
type timedPacket struct {
	video bool
	pkt   *rtp.Packet
	at    time.Time
}

// packetize turns d of a looped source into RTP packets stamped with arrival times from
// base, as a sender pacing in real time would produce them.
func packetize(t *testing.T, src media.Source, video bool, base time.Time, d time.Duration) []timedPacket {
	t.Helper()
	var pay rtp.Payloader = &codecs.OpusPayloader{}
	rate := 48000.0
	if video {
		pay, rate = &codecs.VP8Payloader{EnablePictureID: true}, 90000
	}
	pk := rtp.NewPacketizer(1200, 111, 1234, pay, rtp.NewRandomSequencer(), uint32(rate))
	var out []timedPacket
	for at := time.Duration(0); at < d; {
		s, err := src.Next()
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range pk.Packetize(s.Data, uint32(s.Duration.Seconds()*rate)) {
			out = append(out, timedPacket{video, p, base.Add(at)})
		}
		at += s.Duration
	}
	return out
}

// interleave merges two arrival-ordered packet lists by arrival, then swaps some
// neighbours to reorder them a little, as a network does.
func interleave(a, b []timedPacket, swaps int) []timedPacket {
	out := make([]timedPacket, 0, len(a)+len(b))
	for len(a) > 0 || len(b) > 0 {
		if len(b) == 0 || len(a) > 0 && !a[0].at.After(b[0].at) {
			out, a = append(out, a[0]), a[1:]
		} else {
			out, b = append(out, b[0]), b[1:]
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range swaps {
		i := 1 + r.IntN(len(out)-2)
		out[i], out[i+1] = out[i+1], out[i]
	}
	return out
}

func needFFprobe(t *testing.T) {
	if _, err := exec.LookPath("ffprobe"); err != nil {
		t.Skip("ffprobe not installed (apt-get install ffmpeg)")
	}
}

// probed is what ffprobe says about a file.
type probed struct {
	FormatDuration float64
	Codecs         []string
	Width, Height  int
	// StreamEnd is the end of each stream (last packet pts + duration), by codec name.
	StreamEnd map[string]float64
}

func probe(t *testing.T, path string) probed {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-show_entries",
		"format=duration:stream=index,codec_name,width,height:packet=stream_index,pts_time,duration_time",
		"-of", "json", path).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", path, err)
	}
	var r struct {
		Format struct {
			Duration string `json:"duration"`
		} `json:"format"`
		Streams []struct {
			Index     int    `json:"index"`
			CodecName string `json:"codec_name"`
			Width     int    `json:"width"`
			Height    int    `json:"height"`
		} `json:"streams"`
		Packets []struct {
			StreamIndex int    `json:"stream_index"`
			PTS         string `json:"pts_time"`
			Duration    string `json:"duration_time"`
		} `json:"packets"`
	}
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("ffprobe output: %v", err)
	}
	p := probed{StreamEnd: map[string]float64{}}
	p.FormatDuration, _ = strconv.ParseFloat(r.Format.Duration, 64)
	names := map[int]string{}
	for _, s := range r.Streams {
		p.Codecs = append(p.Codecs, s.CodecName)
		names[s.Index] = s.CodecName
		if s.Width > 0 {
			p.Width, p.Height = s.Width, s.Height
		}
	}
	for _, pk := range r.Packets {
		pts, _ := strconv.ParseFloat(pk.PTS, 64)
		d, _ := strconv.ParseFloat(pk.Duration, 64)
		if end := pts + d; end > p.StreamEnd[names[pk.StreamIndex]] {
			p.StreamEnd[names[pk.StreamIndex]] = end
		}
	}
	return p
}

func openSources(t *testing.T) (audio, video media.Source) {
	t.Helper()
	a, err := media.OpenOgg(testOgg)
	if err != nil {
		t.Fatal(err)
	}
	v, err := media.OpenIVF(testIVF)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close(); v.Close() })
	return a, v
}

// TestRecordAudioVideo records 4 s of reordered Opus and VP8 and checks the file with
// ffprobe: both streams, the picture size, durations within 0.2 s of what was sent.
func TestRecordAudioVideo(t *testing.T) {
	needFFprobe(t)
	leaktest.Check(t)
	audio, video := openSources(t)
	base := time.Now()
	const d = 4 * time.Second
	pkts := interleave(packetize(t, audio, false, base, d), packetize(t, video, true, base.Add(3*time.Millisecond), d), 40)

	path := filepath.Join(t.TempDir(), "party.webm")
	s := New(path, Options{Audio: true, Video: true})
	for i, p := range pkts {
		s.WriteRTP(p.video, p.pkt, p.at)
		if i == 100 {
			s.SenderReport(false, &rtcp.SenderReport{SSRC: 1234, NTPTime: 42 << 32, RTPTime: p.pkt.Timestamp}, p.at)
		}
		if i%200 == 0 {
			time.Sleep(time.Millisecond) // let the writer keep up: a full queue drops
		}
	}
	info, err := s.Close()
	if err != nil {
		t.Fatalf("Close: %v", err)
	}
	if info.Dropped != 0 || !info.Audio || !info.Video || info.Width != 320 || info.Height != 240 {
		t.Fatalf("info %+v", info)
	}
	if info.SenderNTP[0] != 42<<32 || info.Start != base {
		t.Fatalf("alignment data not kept: %+v", info)
	}
	if diff := info.Duration - d; diff > 200*time.Millisecond || diff < -200*time.Millisecond {
		t.Fatalf("info duration %v, want about %v", info.Duration, d)
	}
	st, _ := os.Stat(path)
	if st.Size() != info.Size {
		t.Fatalf("size %d, info says %d", st.Size(), info.Size)
	}
	p := probe(t, path)
	if len(p.Codecs) != 2 || p.Codecs[0] != "opus" || p.Codecs[1] != "vp8" || p.Width != 320 || p.Height != 240 {
		t.Fatalf("ffprobe: %+v", p)
	}
	for _, c := range []string{"opus", "vp8", "format"} {
		got := p.StreamEnd[c]
		if c == "format" {
			got = p.FormatDuration
		}
		if diff := got - d.Seconds(); diff > 0.2 || diff < -0.2 {
			t.Errorf("%s duration %.3f s, want %.1f s ± 0.2", c, got, d.Seconds())
		}
	}
}

// TestRecordCutShort copies the file while the stream is still open, as a crash would
// leave it, and checks that ffprobe reads it with the duration recorded so far.
func TestRecordCutShort(t *testing.T) {
	needFFprobe(t)
	leaktest.Check(t)
	audio, video := openSources(t)
	base := time.Now()
	const d = 3 * time.Second
	pkts := interleave(packetize(t, audio, false, base, d), packetize(t, video, true, base, d), 0)
	dir := t.TempDir()
	path := filepath.Join(dir, "party.webm")
	s := New(path, Options{Audio: true, Video: true, FlushInterval: 50 * time.Millisecond})
	defer s.Close()
	for i, p := range pkts {
		s.WriteRTP(p.video, p.pkt, p.at)
		if i%200 == 0 {
			time.Sleep(time.Millisecond)
		}
	}
	// Wait for two flushes after the queue drained.
	deadline := time.Now().Add(10 * time.Second)
	for len(s.queue) > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(dir, "cut.webm")
	if err := os.WriteFile(cut, b, 0o600); err != nil {
		t.Fatal(err)
	}
	p := probe(t, cut)
	if len(p.Codecs) != 2 {
		t.Fatalf("ffprobe of the cut file: %+v", p)
	}
	// The last frames may still sit in the sample builders and the sorter: the cut file holds
	// up to them, not beyond what was sent.
	if p.FormatDuration < d.Seconds()-0.6 || p.FormatDuration > d.Seconds()+0.1 {
		t.Fatalf("cut file duration %.3f s, want close to %.1f s", p.FormatDuration, d.Seconds())
	}
	if !bytes.HasPrefix(b, []byte{0x1a, 0x45, 0xdf, 0xa3}) {
		t.Fatal("not an EBML file")
	}
}

// TestRecordVoiceOnly records audio alone: the file has one Opus stream.
func TestRecordVoiceOnly(t *testing.T) {
	needFFprobe(t)
	audio, _ := openSources(t)
	path := filepath.Join(t.TempDir(), "voice.webm")
	s := New(path, Options{Audio: true})
	for _, p := range packetize(t, audio, false, time.Now(), 2*time.Second) {
		s.WriteRTP(false, p.pkt, p.at)
	}
	info, err := s.Close()
	if err != nil || info.Video || !info.Audio {
		t.Fatalf("Close: %+v %v", info, err)
	}
	if p := probe(t, path); len(p.Codecs) != 1 || p.Codecs[0] != "opus" {
		t.Fatalf("ffprobe: %+v", p)
	}
}

// TestRecordNothing: a stream that got no media makes no file and says so.
func TestRecordNothing(t *testing.T) {
	leaktest.Check(t)
	path := filepath.Join(t.TempDir(), "none.webm")
	s := New(path, Options{Audio: true, Video: true})
	s.WriteRTP(true, &rtp.Packet{Header: rtp.Header{SequenceNumber: 1}, Payload: []byte{0x10, 1, 2}}, time.Now())
	if _, err := s.Close(); err == nil {
		t.Fatal("Close of an empty stream: no error")
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("file exists: %v", err)
	}
}

// TestRecordWithPadding: padding-only packets between video frames (as browsers send to
// probe bandwidth) do not make the recorder drop the frames around them.
func TestRecordWithPadding(t *testing.T) {
	needFFprobe(t)
	audio, video := openSources(t)
	base := time.Now()
	const d = 2 * time.Second
	vp := packetize(t, video, true, base, d)
	// Renumber the video with a padding packet after every frame.
	var withPad []timedPacket
	seq := uint16(1000)
	for _, p := range vp {
		p.pkt.SequenceNumber = seq
		seq++
		withPad = append(withPad, p)
		if p.pkt.Marker {
			pad := &rtp.Packet{Header: rtp.Header{Version: 2, Padding: true, PayloadType: p.pkt.PayloadType, SequenceNumber: seq,
				Timestamp: p.pkt.Timestamp, SSRC: p.pkt.SSRC}, PaddingSize: 200}
			seq++
			withPad = append(withPad, timedPacket{true, pad, p.at})
		}
	}
	pkts := interleave(packetize(t, audio, false, base, d), withPad, 0)
	path := filepath.Join(t.TempDir(), "padded.webm")
	s := New(path, Options{Audio: true, Video: true})
	for i, p := range pkts {
		s.WriteRTP(p.video, p.pkt, p.at)
		if i%200 == 0 {
			time.Sleep(time.Millisecond)
		}
	}
	info, err := s.Close()
	if err != nil || !info.Video || info.VideoFrames < 55 {
		t.Fatalf("info %+v, %v (want about 60 video frames)", info, err)
	}
}

func TestPadMap(t *testing.T) {
	for _, start := range []uint16{1, 65533} {
		var m padMap
		s := func(d uint16) uint16 { return start + d }
		got := []uint16{m.mapSeq(s(0))}
		m.padding(s(1))
		got = append(got, m.mapSeq(s(2)))
		m.padding(s(3))
		m.padding(s(4))
		got = append(got, m.mapSeq(s(5)), m.mapSeq(s(2)), m.mapSeq(s(6)))
		want := []uint16{s(0), s(1), s(2), s(1), s(3)}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("start %d: mapped %v, want %v", start, got, want)
			}
		}
	}
}
