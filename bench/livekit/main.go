// Command livekit-load is the baseline duet's recorded-call CPU is measured against: N
// LiveKit rooms of two participants, each publishing Opus and VP8 from the files duet's
// benchmark sends (testdata/media) and subscribed to the other's tracks — a 1-on-1 call as
// LiveKit carries it (forwarding only: it records nothing). It reads the livekit-server
// process's CPU from /proc over a steady window after every subscriber receives media, and
// fails when one receives none. scripts/bench-livekit.sh builds and runs it beside duet's
// BenchmarkRecordedCallCPU in the same run.
//
// It is its own module so that duet's go.mod does not carry LiveKit's dependencies.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	lksdk "github.com/livekit/server-sdk-go/v2"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
	"github.com/pion/webrtc/v4/pkg/media/ivfreader"
	"github.com/pion/webrtc/v4/pkg/media/oggreader"
)

func main() {
	url := flag.String("url", "ws://127.0.0.1:7880", "livekit-server URL")
	key := flag.String("key", "devkey", "API key")
	secret := flag.String("secret", "", "API secret")
	rooms := flag.Int("rooms", 8, "rooms of two participants")
	ivf := flag.String("ivf", "testdata/media/pattern-320x240.ivf", "VP8 video each participant sends, looped")
	ogg := flag.String("ogg", "testdata/media/tone-440.ogg", "Opus audio each participant sends, looped")
	pid := flag.Int("pid", 0, "livekit-server's process id, for its CPU")
	warmup := flag.Duration("warmup", 5*time.Second, "time after every subscriber receives media before measuring")
	window := flag.Duration("measure", 20*time.Second, "measuring window")
	flag.Parse()
	if err := run(*url, *key, *secret, *rooms, *ivf, *ogg, *pid, *warmup, *window); err != nil {
		log.Fatal(err)
	}
}

// result is what one run prints, as JSON.
type result struct {
	Rooms         int     `json:"rooms"`
	ServerCPU     float64 `json:"serverCpuPercent"`     // of one core, the whole server
	PerRoom       float64 `json:"perRoomCpuPercent"`    // of one core
	VideoKbpsIn   float64 `json:"videoKbpsPerReceiver"` // mean received per participant
	VideoPPSIn    float64 `json:"videoPacketsPerSecond"`
	AudioPPSIn    float64 `json:"audioPacketsPerSecond"`
	Subscriptions int     `json:"subscriptions"`
}

func run(url, key, secret string, rooms int, ivfPath, oggPath string, pid int, warmup, window time.Duration) error {
	frames, frameDur, err := readIVF(ivfPath)
	if err != nil {
		return err
	}
	pages, err := readOgg(oggPath)
	if err != nil {
		return err
	}
	var counters []*counter
	var mu sync.Mutex
	var all []*lksdk.Room
	defer func() {
		for _, r := range all {
			r.Disconnect()
		}
	}()
	stop := make(chan struct{})
	defer close(stop)
	for i := range rooms {
		for _, side := range []string{"a", "b"} {
			c := &counter{}
			cb := lksdk.NewRoomCallback()
			cb.OnTrackSubscribed = func(track *webrtc.TrackRemote, _ *lksdk.RemoteTrackPublication, _ *lksdk.RemoteParticipant) {
				go c.read(track)
			}
			room, err := lksdk.ConnectToRoom(url, lksdk.ConnectInfo{
				APIKey: key, APISecret: secret, RoomName: "room-" + strconv.Itoa(i), ParticipantIdentity: side + strconv.Itoa(i),
			}, cb, lksdk.WithAutoSubscribe(true))
			if err != nil {
				return fmt.Errorf("room %d %s: %w", i, side, err)
			}
			mu.Lock()
			all = append(all, room)
			counters = append(counters, c)
			mu.Unlock()
			if err := publish(room, frames, frameDur, pages, stop); err != nil {
				return fmt.Errorf("room %d %s: %w", i, side, err)
			}
		}
	}
	// Every participant receives the other's audio and video.
	deadline := time.Now().Add(60 * time.Second)
	for !allFlowing(counters) {
		if time.Now().After(deadline) {
			return errors.New("not every participant receives audio and video after 60 s")
		}
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(warmup)
	before := snapshot(counters)
	cpu0, err := cpuTime(pid)
	if err != nil {
		return err
	}
	t0 := time.Now()
	time.Sleep(window)
	cpu1, _ := cpuTime(pid)
	el := time.Since(t0).Seconds()
	after := snapshot(counters)
	for i := range counters {
		if after[i].videoPackets == before[i].videoPackets || after[i].audioPackets == before[i].audioPackets {
			return fmt.Errorf("participant %d received no media in the window", i)
		}
	}
	var vb, vp, ap float64
	for i := range counters {
		vb += float64(after[i].videoBytes - before[i].videoBytes)
		vp += float64(after[i].videoPackets - before[i].videoPackets)
		ap += float64(after[i].audioPackets - before[i].audioPackets)
	}
	n := float64(len(counters))
	cpu := (cpu1 - cpu0).Seconds() / el * 100
	return json.NewEncoder(os.Stdout).Encode(result{
		Rooms: rooms, ServerCPU: cpu, PerRoom: cpu / float64(rooms),
		VideoKbpsIn: vb * 8 / el / 1000 / n, VideoPPSIn: vp / el, AudioPPSIn: ap / el, Subscriptions: len(counters) * 2,
	})
}

// publish sends the looped files on two tracks of room's participant until stop.
func publish(room *lksdk.Room, frames [][]byte, frameDur time.Duration, pages []oggPage, stop <-chan struct{}) error {
	video, err := lksdk.NewLocalSampleTrack(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000})
	if err != nil {
		return err
	}
	audio, err := lksdk.NewLocalSampleTrack(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2})
	if err != nil {
		return err
	}
	if _, err := room.LocalParticipant.PublishTrack(video, &lksdk.TrackPublicationOptions{Name: "video"}); err != nil {
		return err
	}
	if _, err := room.LocalParticipant.PublishTrack(audio, &lksdk.TrackPublicationOptions{Name: "audio"}); err != nil {
		return err
	}
	go loop(stop, frameDur, len(frames), func(i int) { _ = video.WriteSample(media.Sample{Data: frames[i], Duration: frameDur}, nil) })
	go loop(stop, pages[0].dur, len(pages), func(i int) { _ = audio.WriteSample(media.Sample{Data: pages[i].data, Duration: pages[i].dur}, nil) })
	return nil
}

// loop calls write(0), write(1), … write(n-1), write(0)… every d until stop.
func loop(stop <-chan struct{}, d time.Duration, n int, write func(int)) {
	t := time.NewTicker(d)
	defer t.Stop()
	for i := 0; ; i = (i + 1) % n {
		select {
		case <-stop:
			return
		case <-t.C:
			write(i)
		}
	}
}

// counter counts what one participant receives.
type counter struct {
	videoPackets, videoBytes, audioPackets atomic.Int64
}

type counts struct{ videoPackets, videoBytes, audioPackets int64 }

func (c *counter) read(t *webrtc.TrackRemote) {
	buf := make([]byte, 1500)
	for {
		n, _, err := t.Read(buf)
		if err != nil {
			return
		}
		if t.Kind() == webrtc.RTPCodecTypeVideo {
			c.videoPackets.Add(1)
			c.videoBytes.Add(int64(n))
		} else {
			c.audioPackets.Add(1)
		}
	}
}

func allFlowing(cs []*counter) bool {
	for _, c := range cs {
		if c.videoPackets.Load() == 0 || c.audioPackets.Load() == 0 {
			return false
		}
	}
	return true
}

func snapshot(cs []*counter) []counts {
	out := make([]counts, len(cs))
	for i, c := range cs {
		out[i] = counts{c.videoPackets.Load(), c.videoBytes.Load(), c.audioPackets.Load()}
	}
	return out
}

// readIVF returns the file's frames and their duration.
func readIVF(path string) ([][]byte, time.Duration, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	r, h, err := ivfreader.NewWith(f)
	if err != nil {
		return nil, 0, err
	}
	var frames [][]byte
	for {
		frame, _, err := r.ParseNextFrame()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, 0, err
		}
		frames = append(frames, frame)
	}
	if len(frames) == 0 {
		return nil, 0, errors.New(path + ": no frames")
	}
	return frames, time.Duration(float64(time.Second) * float64(h.TimebaseNumerator) / float64(h.TimebaseDenominator)), nil
}

type oggPage struct {
	data []byte
	dur  time.Duration
}

// readOgg returns the Opus file's pages with their durations (as pion's play-from-disk does).
func readOgg(path string) ([]oggPage, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	r, _, err := oggreader.NewWith(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	var pages []oggPage
	var last uint64
	for {
		data, h, err := r.ParseNextPage()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		n := h.GranulePosition - last
		last = h.GranulePosition
		if n == 0 || n > 48000 {
			continue // headers
		}
		pages = append(pages, oggPage{data: data, dur: time.Duration(n) * time.Second / 48000})
	}
	if len(pages) == 0 {
		return nil, errors.New(path + ": no audio pages")
	}
	return pages, nil
}

// cpuTime returns a process's user+system CPU time from /proc.
func cpuTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond, nil // USER_HZ is 100 on Linux
}
