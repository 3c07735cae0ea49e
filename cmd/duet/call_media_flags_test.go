package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/duet-rtc/duet/server/servertest"
)

// captureEvents runs f with standard output going to a pipe and returns the JSON events
// printed meanwhile.
func captureEvents(t *testing.T, f func()) []callEvent {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	old := os.Stdout
	os.Stdout = w
	var (
		events []callEvent
		wg     sync.WaitGroup
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			var e callEvent
			if json.Unmarshal(sc.Bytes(), &e) == nil {
				events = append(events, e)
			}
		}
		io.Copy(io.Discard, r)
	}()
	defer func() {
		os.Stdout = old
		w.Close()
		wg.Wait()
		r.Close()
	}()
	f()
	os.Stdout = old
	w.Close()
	wg.Wait()
	return events
}

func findEvent(events []callEvent, name string) *callEvent {
	for i := range events {
		if events[i].Event == name {
			return &events[i]
		}
	}
	return nil
}

// writeWAV writes secs of a 1 kHz tone as 16-bit mono PCM at rate.
func writeWAV(t *testing.T, path string, rate, channels int, secs float64) {
	t.Helper()
	n := int(float64(rate) * secs)
	b := []byte("RIFF\x00\x00\x00\x00WAVEfmt ")
	b = binary.LittleEndian.AppendUint32(b, 16)
	b = binary.LittleEndian.AppendUint16(b, 1)
	b = binary.LittleEndian.AppendUint16(b, uint16(channels))
	b = binary.LittleEndian.AppendUint32(b, uint32(rate))
	b = binary.LittleEndian.AppendUint32(b, uint32(2*rate*channels))
	b = binary.LittleEndian.AppendUint16(b, uint16(2*channels))
	b = binary.LittleEndian.AppendUint16(b, 16)
	b = append(b, "data"...)
	b = binary.LittleEndian.AppendUint32(b, uint32(2*n*channels))
	for i := 0; i < n*channels; i++ {
		v := int16(6000 * math.Sin(2*math.Pi*1000*float64(i/channels)/float64(rate)))
		b = binary.LittleEndian.AppendUint16(b, uint16(v))
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestCallCommandMediaFlags: custom audio from a WAV, limits, stats every 2 s, and a
// video pause the peer hears about, all from flags and visible in the JSON events.
func TestCallCommandMediaFlags(t *testing.T) {
	srv := servertest.Start(t)
	srv.AddUser("alice", "pw")
	srv.AddUser("bob", "pw")
	dir := t.TempDir()
	wav := filepath.Join(dir, "tone.wav")
	writeWAV(t, wav, 16000, 1, 1)
	media := func(name string) string { return filepath.Join("..", "..", "testdata", "media", name) }

	events := captureEvents(t, func() {
		answerer := baseFlags(srv, "bob")
		answerer.answer, answerer.jsonOut = true, true
		answerer.send = []string{media("bars-160x120.ivf")}
		answerer.media.stats = true
		answerer.media.maxVideoKbps = 500
		done := make(chan error, 1)
		go func() { done <- runCall(context.Background(), answerer) }()
		waitOnline(t, srv, 1)

		caller := baseFlags(srv, "alice")
		caller.to, caller.video, caller.jsonOut = "bob", true, true
		caller.duration = 5 * time.Second
		caller.send = []string{media("pattern-320x240.ivf")}
		caller.media.customAudio = wav
		caller.media.maxAudioKbps = 24
		caller.media.stats = true
		caller.media.pauseVideoAfter = 3 * time.Second
		caller.media.resolution = "352x288"
		caller.media.fps = 15
		if err := runCall(context.Background(), caller); err != nil {
			t.Errorf("caller: %v", err)
		}
		if err := <-done; err != nil {
			t.Errorf("answerer: %v", err)
		}
	})
	if t.Failed() {
		t.FailNow()
	}
	var stats *callEvent
	for i := range events {
		if e := &events[i]; e.Event == "stats" && e.Stats != nil && e.Stats.RemoteVideoWidth > 0 {
			stats = e
		}
	}
	if stats == nil || stats.Network == nil || stats.Stats.RemoteVideoBitrate <= 0 || stats.Stats.RemoteVideoFrameRate <= 0 {
		t.Fatalf("no stats event with known values: %+v", events)
	}
	if findEvent(events, "videoPaused") == nil || findEvent(events, "callStateDidChange:video-pause") == nil {
		t.Fatalf("no video pause events: %+v", events)
	}
	// Once a side's call has connected, its events carry the connect type. (--answer answers
	// at once: the answer's callDidAccept may come before the media connected, and has none.)
	connected := map[string]bool{} // by call id and side
	for _, e := range events {
		if e.Event == "error" {
			t.Fatalf("error event: %+v", e)
		}
		side := e.CallID + "/" + e.Remote
		if e.Event == "callDidConnect" {
			connected[side] = true
		}
		if connected[side] && strings.HasPrefix(e.Event, "call") && e.Event != "callDidEnd" && e.ConnectType == 0 {
			t.Errorf("%s after callDidConnect without a connect type", e.Event)
		}
	}
}

func TestCallMediaFlagsRefuseBadInput(t *testing.T) {
	dir := t.TempDir()
	stereo := filepath.Join(dir, "stereo.wav")
	writeWAV(t, stereo, 48000, 2, 0.1)
	odd := filepath.Join(dir, "odd.wav")
	writeWAV(t, odd, 44100, 1, 0.1)
	bad := filepath.Join(dir, "bad.y4m")
	os.WriteFile(bad, []byte("YUV4MPEG2 W3 H2\nFRAME\n"), 0o644)
	for _, c := range []struct {
		name string
		f    callMediaFlags
	}{
		{"resolution", callMediaFlags{resolution: "big", maxAudioKbps: 32}},
		{"odd resolution", callMediaFlags{resolution: "321x240", maxAudioKbps: 32}},
		{"watermark corner", callMediaFlags{watermark: "x.png", watermarkPos: "middle", maxAudioKbps: 32}},
		{"video cap", callMediaFlags{maxVideoKbps: 10, maxAudioKbps: 32}},
		{"audio cap", callMediaFlags{maxAudioKbps: 600}},
		{"stereo wav", callMediaFlags{customAudio: stereo, maxAudioKbps: 32}},
		{"44.1 kHz wav", callMediaFlags{customAudio: odd, maxAudioKbps: 32}},
		{"bad y4m", callMediaFlags{customVideo: bad, maxAudioKbps: 32}},
		{"missing wav", callMediaFlags{customAudio: filepath.Join(dir, "none.wav"), maxAudioKbps: 32}},
	} {
		if _, err := c.f.prepare(); err == nil {
			t.Errorf("%s: accepted", c.name)
		}
	}
	cm, err := (callMediaFlags{resolution: "1280x720", maxAudioKbps: 32, clarityFirst: true, fps: 24}).prepare()
	if err != nil || cm.opts.VideoResolution != 3 || !cm.opts.IsClarityFirst || cm.opts.MaxVideoFrameRate != 24 {
		t.Fatalf("good flags: %+v %v", cm, err)
	}
}
