package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/duet-rtc/duet"
	"github.com/duet-rtc/duet/media"
)

// callMediaFlags are the flags of `duet call` that try the SDK's media features.
type callMediaFlags struct {
	relayOnly, clarityFirst, stats, testPattern bool
	maxVideoKbps, maxAudioKbps, fps             int
	resolution                                  string
	customAudio, customVideo                    string
	watermark, watermarkPos                     string
	watermarkMargin                             int
	pauseVideoAfter                             time.Duration
	snapshotRemote                              string
	snapshotAfter                               time.Duration
}

func addCallMediaFlags(cmd *cobra.Command, f *callMediaFlags) {
	fl := cmd.Flags()
	fl.BoolVar(&f.relayOnly, "relay-only", false, "send media through the server's TURN relay only (ICE relay policy)")
	fl.IntVar(&f.maxVideoKbps, "max-video-kbps", 0, "maxVideoKbps: cap of the video the SDK encodes and asks of the peer, 50-5000 (0: adaptive)")
	fl.IntVar(&f.maxAudioKbps, "max-audio-kbps", 32, "maxAudioKbps: cap of the audio the SDK encodes and asks of the peer, 6-510")
	fl.IntVar(&f.fps, "fps", 0, "maxVideoFrameRate (0: the source's), and the --test-pattern rate (default 30)")
	fl.StringVar(&f.resolution, "resolution", "adaptive", "videoResolution: adaptive, 352x288, 640x480, 1280x720, or WxH (custom); also the --test-pattern size (default 640x480)")
	fl.BoolVar(&f.clarityFirst, "clarity-first", false, "isClarityFirst: on a low bitrate keep the picture size and drop the frame rate")
	fl.BoolVar(&f.testPattern, "test-pattern", false, "send a live VP8 test pattern of --resolution at --fps (needs a vpx build)")
	fl.BoolVar(&f.stats, "stats", false, "enableReportQuality: a stats event every 2 s and callNetworkDidChange events")
	fl.StringVar(&f.customAudio, "custom-audio", "", "feed this WAV (16-bit mono, 8/12/16/24/48 kHz) through InputCustomAudioData, looped, in real time")
	fl.StringVar(&f.customVideo, "custom-video", "", "feed this Y4M (4:2:0) through InputVideoFrame, looped, at its frame rate (needs a vpx build)")
	fl.StringVar(&f.watermark, "watermark", "", "draw this PNG/JPEG (path or http(s) URL) on the video the SDK encodes")
	fl.StringVar(&f.watermarkPos, "watermark-pos", "left-top", "watermark corner: left-top, right-top, left-bottom, right-bottom")
	fl.IntVar(&f.watermarkMargin, "watermark-margin", 16, "watermark distance from its corner in pixels")
	fl.DurationVar(&f.pauseVideoAfter, "pause-video-after", 0, "pause the video this long after the call is accepted (0: never)")
	fl.StringVar(&f.snapshotRemote, "snapshot-remote", "", "save the remote picture to this .png/.jpg (--snapshot-after the accept; needs a vpx build)")
	fl.DurationVar(&f.snapshotAfter, "snapshot-after", 2*time.Second, "when to take --snapshot-remote, after the call is accepted")
}

// parseResolution maps --resolution to the seed's enum and the test pattern's size.
func parseResolution(s string) (duet.VideoResolution, int, int, error) {
	switch strings.ToLower(s) {
	case "", "adaptive":
		return duet.VideoResolutionAdaptive, 640, 480, nil
	case "352x288":
		return duet.VideoResolution352x288, 352, 288, nil
	case "640x480":
		return duet.VideoResolution640x480, 640, 480, nil
	case "1280x720":
		return duet.VideoResolution1280x720, 1280, 720, nil
	}
	ws, hs, ok := strings.Cut(strings.ToLower(s), "x")
	w, err1 := strconv.Atoi(ws)
	h, err2 := strconv.Atoi(hs)
	if !ok || err1 != nil || err2 != nil || w <= 0 || h <= 0 || w%2 != 0 || h%2 != 0 || w > 4096 || h > 4096 {
		return 0, 0, 0, fmt.Errorf("--resolution %q: want adaptive, 352x288, 640x480, 1280x720 or an even WxH up to 4096", s)
	}
	return duet.VideoResolutionCustom, w, h, nil
}

var watermarkCorners = map[string]duet.WatermarkStartPoint{
	"left-top": duet.WatermarkLeftTop, "right-top": duet.WatermarkRightTop,
	"left-bottom": duet.WatermarkLeftBottom, "right-bottom": duet.WatermarkRightBottom,
}

// callMedia is what the media flags prepared before the call: options and input files.
type callMedia struct {
	opts      duet.CallOptions
	pcm       []int16 // --custom-audio
	y4m       *media.Y4M
	watermark *duet.WatermarkOption
	patternW  int
	patternH  int
}

// prepare checks the media flags and reads their files.
func (f callMediaFlags) prepare() (*callMedia, error) {
	cm := &callMedia{opts: duet.DefaultCallOptions()}
	res, w, h, err := parseResolution(f.resolution)
	if err != nil {
		return nil, err
	}
	cm.patternW, cm.patternH = w, h
	o := &cm.opts
	o.VideoResolution, o.MaxVideoKbps, o.MaxAudioKbps, o.MaxVideoFrameRate = res, f.maxVideoKbps, f.maxAudioKbps, f.fps
	o.IsClarityFirst, o.EnableReportQuality = f.clarityFirst, f.stats
	if f.customAudio != "" {
		samples, rate, channels, err := media.ReadWAV(f.customAudio)
		if err != nil {
			return nil, fmt.Errorf("--custom-audio: %w", err)
		}
		if channels != 1 {
			return nil, fmt.Errorf("--custom-audio %s has %d channels: custom audio is mono", f.customAudio, channels)
		}
		cm.pcm, o.EnableCustomAudioData, o.AudioCustomSamples = samples, true, rate
	}
	if f.customVideo != "" {
		if cm.y4m, err = media.ReadY4M(f.customVideo); err != nil {
			return nil, fmt.Errorf("--custom-video: %w", err)
		}
		o.EnableCustomizeVideoData = true
	}
	if f.watermark != "" {
		corner, ok := watermarkCorners[strings.ToLower(f.watermarkPos)]
		if !ok {
			return nil, fmt.Errorf("--watermark-pos %q: want left-top, right-top, left-bottom or right-bottom", f.watermarkPos)
		}
		cm.watermark = &duet.WatermarkOption{Image: f.watermark, MarginX: f.watermarkMargin, MarginY: f.watermarkMargin, StartPoint: corner, Enable: true}
	}
	if err := o.Validate(); err != nil {
		return nil, err
	}
	return cm, nil
}

// apply sets the options and the watermark on the call manager.
func (cm *callMedia) apply(m *duet.CallManager) error {
	if err := m.SetCallOptions(cm.opts); err != nil {
		return err
	}
	if cm.watermark != nil {
		if err := m.AddVideoWatermark(*cm.watermark); err != nil {
			return fmt.Errorf("--watermark: %w", err)
		}
	}
	return nil
}

// callStatsEvent is the "stats" field of a stats event: the session's statistics.
type callStatsEvent struct {
	VideoLatency         int `json:"videoLatency"`
	LocalVideoFrameRate  int `json:"localVideoFrameRate"`
	RemoteVideoFrameRate int `json:"remoteVideoFrameRate"`
	LocalVideoBitrate    int `json:"localVideoBitrate"`
	RemoteVideoBitrate   int `json:"remoteVideoBitrate"`
	LocalVideoLost       int `json:"localVideoLostRateInPercent"`
	RemoteVideoLost      int `json:"remoteVideoLostRateInPercent"`
	RemoteVideoWidth     int `json:"remoteVideoWidth"`
	RemoteVideoHeight    int `json:"remoteVideoHeight"`
}

func statsOf(s *duet.CallSession) *callStatsEvent {
	w, h := s.RemoteVideoResolution()
	return &callStatsEvent{
		VideoLatency: s.VideoLatency(), LocalVideoFrameRate: s.LocalVideoFrameRate(), RemoteVideoFrameRate: s.RemoteVideoFrameRate(),
		LocalVideoBitrate: s.LocalVideoBitrate(), RemoteVideoBitrate: s.RemoteVideoBitrate(),
		LocalVideoLost: s.LocalVideoLostRateInPercent(), RemoteVideoLost: s.RemoteVideoLostRateInPercent(),
		RemoteVideoWidth: w, RemoteVideoHeight: h,
	}
}

// CallNetworkDidChange reports the call's network status.
func (r *callReporter) CallNetworkDidChange(s *duet.CallSession, st duet.NetworkStatus) {
	n := int(st)
	r.emitWith("callNetworkDidChange", s, nil, nil, func(e *callEvent) { e.Network = &n })
}

// startMediaFeatures runs what the media flags ask for once the call is accepted; each
// part stops when the call ends, and runCall waits for them.
func (r *callReporter) startMediaFeatures(s *duet.CallSession) {
	cm, f := r.media, r.f.media
	if cm == nil {
		return
	}
	r.every(s, 20*time.Millisecond, cm.pcm != nil, r.audioFeeder(s))
	if cm.y4m != nil && s.Type() == duet.CallTypeVideo {
		r.every(s, cm.y4m.FrameDuration, true, r.videoFeeder(s))
	}
	r.every(s, 2*time.Second, f.stats, func() bool {
		n := int(s.NetworkStatus())
		r.emitWith("stats", s, nil, nil, func(e *callEvent) { e.Stats, e.Network = statsOf(s), &n })
		return true
	})
	r.after(s, f.pauseVideoAfter, f.pauseVideoAfter > 0, func() {
		r.emit("videoPaused", s, nil, s.PauseVideo())
	})
	r.after(s, f.snapshotAfter, f.snapshotRemote != "", func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		err := r.m.TakeRemoteVideoPicture(ctx, s.CallID(), f.snapshotRemote)
		r.emitWith("snapshot", s, nil, err, func(e *callEvent) { e.Path = f.snapshotRemote })
	})
}

// audioFeeder returns a function feeding the next 20 ms of --custom-audio, looped.
func (r *callReporter) audioFeeder(s *duet.CallSession) func() bool {
	cm := r.media
	chunk := cm.opts.AudioCustomSamples / 50
	buf := make([]byte, 2*chunk)
	off := 0
	return func() bool {
		for i := 0; i < chunk; i++ {
			binary.LittleEndian.PutUint16(buf[2*i:], uint16(cm.pcm[(off+i)%len(cm.pcm)]))
		}
		off = (off + chunk) % len(cm.pcm)
		if rc := r.m.InputCustomAudioData(buf); rc != 0 && rc != duet.CustomAudioBufferFull {
			r.emit("error", s, nil, fmt.Errorf("InputCustomAudioData returned %d", rc))
			return false
		}
		return true
	}
}

// videoFeeder returns a function feeding the next --custom-video frame, looped.
func (r *callReporter) videoFeeder(s *duet.CallSession) func() bool {
	v := r.media.y4m
	i := 0
	start := time.Now()
	return func() bool {
		err := r.m.InputVideoFrame(s.CallID(), v.Frame(i, time.Since(start)), 0)
		i++
		if err != nil {
			r.emit("error", s, nil, fmt.Errorf("InputVideoFrame: %w", err))
			return false
		}
		return true
	}
}

// every runs f every d from now until the call ends or f returns false.
func (r *callReporter) every(s *duet.CallSession, d time.Duration, on bool, f func() bool) {
	if !on {
		return
	}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		t := time.NewTicker(d)
		defer t.Stop()
		for {
			select {
			case <-s.Done():
				return
			case <-t.C:
				if !f() {
					return
				}
			}
		}
	}()
}

// after runs f once, d from now, unless the call ended first.
func (r *callReporter) after(s *duet.CallSession, d time.Duration, on bool, f func()) {
	if !on {
		return
	}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-s.Done():
		case <-t.C:
			f()
		}
	}()
}
