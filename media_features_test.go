package duet_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/duet-rtc/duet"
	"github.com/duet-rtc/duet/internal/leaktest"
	"github.com/duet-rtc/duet/media"
	"github.com/duet-rtc/duet/server/api"
	"github.com/duet-rtc/duet/server/quality"
	"github.com/duet-rtc/duet/server/servertest"
	"github.com/thesyncim/gopus"
)

// acceptedCall has alice call bob (bob answers once connected) and returns both sessions
// once both sides saw the call accepted.
func acceptedCall(t *testing.T, alice, bob *duet.Client, recA, recB *recorder, typ duet.CallType) (a, b *duet.CallSession) {
	t.Helper()
	a, err := alice.CallManager().StartCall(ctxT(t), typ, "bob", "")
	if err != nil {
		t.Fatalf("StartCall: %v", err)
	}
	b = recB.wait(t, "receive").session
	// Media starts once the call is accepted and its transport up: wait for the transport,
	// so that the call sends from the moment it is accepted.
	recA.wait(t, "connect")
	recB.wait(t, "connect")
	if err := bob.CallManager().AnswerIncomingCall(ctxT(t), b.CallID()); err != nil {
		t.Fatalf("answer: %v", err)
	}
	recA.wait(t, "accept")
	recB.wait(t, "accept")
	return a, b
}

// TestCustomAudioCarriesTheTone: alice feeds a 1 kHz tone as PCM (the seed's voice
// changer); bob decodes what arrives with gopus and finds the tone's frequency.
func TestCustomAudioCarriesTheTone(t *testing.T) {
	leaktest.Check(t)
	srv := servertest.Start(t)
	alice, recA := newClient(t, srv, "alice")
	bob, recB := newClient(t, srv, "bob")
	opts := duet.DefaultCallOptions()
	opts.EnableCustomAudioData, opts.MaxAudioKbps = true, 24
	if err := alice.CallManager().SetCallOptions(opts); err != nil {
		t.Fatal(err)
	}
	sink := &packetSink{}
	bob.CallManager().SetMediaOptions(duet.MediaOptions{
		RemoteSinks: func(*duet.CallSession) (media.Sink, media.Sink) { return sink, nil },
	})
	m := alice.CallManager()
	if got := m.InputCustomAudioData(sinePCM(1000, 48000, 0, 960)); got != duet.CustomAudioNotEnabled {
		t.Fatalf("before any call: %d, want -1", got)
	}
	s, _ := acceptedCall(t, alice, bob, recA, recB, duet.CallTypeVoice)
	if got := m.InputCustomAudioData(make([]byte, 3)); got != duet.CustomAudioBadBuffer {
		t.Fatalf("odd length: %d, want -4", got)
	}
	if got := m.InputCustomAudioData(make([]byte, 2*4801)); got != duet.CustomAudioBadBuffer {
		t.Fatalf("more than 100 ms: %d, want -4", got)
	}

	// Three seconds of tone in 20 ms writes, in real time as a capture callback would.
	tick := time.NewTicker(20 * time.Millisecond)
	for off := 0; off < 3*48000; off += 960 {
		<-tick.C
		got := m.InputCustomAudioData(sinePCM(1000, 48000, off, 960))
		// A full buffer (-3) is back-pressure, as in the seed: a capture callback retries.
		// On a loaded machine the encoder can fall a few frames behind.
		for retry := 0; got == duet.CustomAudioBufferFull && retry < 100; retry++ {
			time.Sleep(10 * time.Millisecond)
			got = m.InputCustomAudioData(sinePCM(1000, 48000, off, 960))
		}
		if got != duet.CustomAudioOK {
			t.Fatalf("write at %d: %d", off, got)
		}
	}
	tick.Stop()
	time.Sleep(200 * time.Millisecond) // the last frames in flight
	packets := sink.take()
	if len(packets) < 100 {
		t.Fatalf("bob received %d audio packets in 3 s", len(packets))
	}
	dec, err := gopus.NewDecoder(gopus.DefaultDecoderConfig(48000, 1))
	if err != nil {
		t.Fatal(err)
	}
	var pcm []float32
	buf := make([]float32, 5760)
	for _, p := range packets {
		n, err := dec.Decode(p, buf)
		if err != nil {
			t.Fatalf("bob cannot decode a packet: %v", err)
		}
		pcm = append(pcm, buf[:n]...)
	}
	// The middle second: past the start-up silence, before the end.
	mid := pcm[len(pcm)/3 : 2*len(pcm)/3]
	tone := goertzel(mid, 1000, 48000)
	for _, f := range []float64{500, 700, 1500, 2000} {
		if other := goertzel(mid, f, 48000); tone < 100*other {
			t.Fatalf("1 kHz power %.3g is not far above %v Hz power %.3g", tone, f, other)
		}
	}

	// Fed faster than real time, the half-second buffer fills: -3.
	full := false
	for i := 0; i < 20 && !full; i++ {
		full = m.InputCustomAudioData(sinePCM(1000, 48000, 0, 4800)) == duet.CustomAudioBufferFull
	}
	if !full {
		t.Fatal("flooding never reported a full buffer")
	}
	if err := m.EndCall(ctxT(t), s.CallID(), duet.EndReasonHangup); err != nil {
		t.Fatal(err)
	}
	recB.wait(t, "end")
	if got := m.InputCustomAudioData(sinePCM(1000, 48000, 0, 960)); got != duet.CustomAudioNotEnabled {
		t.Fatalf("after the call: %d, want -1", got)
	}
}

// TestSwitchCameraAndPauseVoice: the camera switch changes the picture bob decodes (the
// two sources differ in size) without renegotiation, and a voice pause stops alice's audio
// at bob with the callback, until resumed.
func TestSwitchCameraAndPauseVoice(t *testing.T) {
	leaktest.Check(t)
	srv := servertest.Start(t)
	alice, recA := newClient(t, srv, "alice")
	bob, recB := newClient(t, srv, "bob")
	var sources closeCounter // every source the call opens is closed by its end
	alice.CallManager().SetMediaOptions(duet.MediaOptions{
		AudioSource: func(*duet.CallSession) (media.Source, error) { return sources.track(media.OpenOgg(testOgg)) },
		VideoSource: func(*duet.CallSession) (media.Source, error) { return sources.track(media.OpenIVF(testIVF)) },
		BackVideoSource: func(*duet.CallSession) (media.Source, error) {
			return sources.track(media.OpenIVF("testdata/media/bars-160x120.ivf"))
		},
	})
	audio, video := media.NewFrameCounter(media.CodecOpus, nil), media.NewFrameCounter(media.CodecVP8, nil)
	bob.CallManager().SetMediaOptions(duet.MediaOptions{
		RemoteSinks: func(*duet.CallSession) (media.Sink, media.Sink) { return audio, video },
	})
	s, _ := acceptedCall(t, alice, bob, recA, recB, duet.CallTypeVideo)
	wait := func(what string, c *media.FrameCounter, cond func(media.CounterStats) bool) media.CounterStats {
		t.Helper()
		st, err := c.Wait(ctxT(t), cond)
		if err != nil {
			t.Fatalf("%s: %v (%+v)", what, err, st)
		}
		return st
	}
	wait("front camera", video, func(st media.CounterStats) bool { return st.Keyframes > 0 && st.Width == 320 })
	for _, c := range []struct {
		front bool
		w, h  int
	}{{false, 160, 120}, {true, 320, 240}} {
		closed := sources.closed.Load()
		if err := s.SwitchCameraPosition(c.front); err != nil {
			t.Fatal(err)
		}
		if sources.closed.Load() != closed+1 {
			t.Fatalf("the camera switched from was not closed: %d closed", sources.closed.Load())
		}
		st := wait("switched camera", video, func(st media.CounterStats) bool { return st.Width == c.w })
		if st.Height != c.h {
			t.Fatalf("front=%v: %dx%d", c.front, st.Width, st.Height)
		}
	}

	if err := s.PauseVoice(); err != nil {
		t.Fatal(err)
	}
	if e := recB.wait(t, "stream"); e.stream != duet.StreamStatusVoicePause {
		t.Fatalf("bob's callback %v, want VoicePause", e.stream)
	}
	time.Sleep(200 * time.Millisecond) // packets in flight land
	before := audio.Stats().Packets
	time.Sleep(500 * time.Millisecond)
	if got := audio.Stats().Packets; got != before {
		t.Fatalf("voice paused, yet %d audio packets arrived", got-before)
	}
	if v := video.Stats().Packets; v == 0 {
		t.Fatal("no video")
	}
	if err := s.ResumeVoice(); err != nil {
		t.Fatal(err)
	}
	if e := recB.wait(t, "stream"); e.stream != duet.StreamStatusVoiceResume {
		t.Fatalf("bob's callback %v, want VoiceResume", e.stream)
	}
	wait("audio after resume", audio, func(st media.CounterStats) bool { return st.Packets > before+10 })
	if err := alice.CallManager().EndCall(ctxT(t), s.CallID(), duet.EndReasonHangup); err != nil {
		t.Fatal(err)
	}
	recB.wait(t, "end")
	if o, c := sources.opened.Load(), sources.closed.Load(); o != 4 || c != o {
		t.Fatalf("%d sources opened, %d closed at the end of the call", o, c)
	}
}

// TestNetworkStatusUnderLossAndBlackout runs a call over a virtual network (pion's vnet,
// 20 ms each way) and checks the statistics and CallNetworkDidChange on both sides against
// the windows docs/PROTOCOL.md documents: Unstable 2–6 s after 30 % loss begins, NoData
// 3–3.5 s after the last packet, Normal 3–5.5 s after media resumes clean. Each upper bound
// gets 2 s of slack for a loaded two-core machine; lower bounds get none.
func TestNetworkStatusUnderLossAndBlackout(t *testing.T) {
	leaktest.Check(t)
	srv := servertest.Start(t)
	n := newLossyNet(t, 20*time.Millisecond)
	defer n.stop()
	alice, recA := newClient(t, srv, "alice")
	bob, recB := newClient(t, srv, "bob")
	duet.SetTestNet(alice, n.a)
	duet.SetTestNet(bob, n.b)
	opts := duet.DefaultCallOptions()
	opts.EnableReportQuality = true
	for _, c := range []*duet.Client{alice, bob} {
		if err := c.CallManager().SetCallOptions(opts); err != nil {
			t.Fatal(err)
		}
		c.CallManager().SetMediaOptions(duet.MediaOptions{
			AudioSource: func(*duet.CallSession) (media.Source, error) { return media.OpenOgg(testOgg) },
			VideoSource: func(*duet.CallSession) (media.Source, error) { return media.OpenIVF(testIVF) },
		})
	}
	netA, netB := newNetRecorder(alice), newNetRecorder(bob)
	a, b := acceptedCall(t, alice, bob, recA, recB, duet.CallTypeVideo)

	// A clean link: statistics become known within a few periods, and the status stays
	// Normal (no callback).
	if a.VideoLatency() != -1 && a.RemoteVideoFrameRate() != -1 {
		t.Fatal("statistics known before the first period")
	}
	time.Sleep(5 * time.Second)
	for name, s := range map[string]*duet.CallSession{"alice": a, "bob": b} {
		w, h := s.RemoteVideoResolution()
		if w != 320 || h != 240 || s.RemoteVideoFrameRate() < 15 || s.LocalVideoFrameRate() < 15 ||
			s.RemoteVideoBitrate() <= 0 || s.LocalVideoBitrate() <= 0 || s.VideoLatency() < 10 ||
			s.RemoteVideoLostRateInPercent() != 0 || s.LocalVideoLostRateInPercent() != 0 {
			t.Fatalf("%s's stats on a clean link: %dx%d fps %d/%d kbps %d/%d latency %d loss %d/%d", name, w, h,
				s.LocalVideoFrameRate(), s.RemoteVideoFrameRate(), s.LocalVideoBitrate(), s.RemoteVideoBitrate(),
				s.VideoLatency(), s.LocalVideoLostRateInPercent(), s.RemoteVideoLostRateInPercent())
		}
	}
	netA.none(t, "clean link")
	netB.none(t, "clean link")

	within := func(who string, r *netRecorder, want duet.NetworkStatus, since time.Time, lo, hi time.Duration) {
		t.Helper()
		e := r.next(t, hi+time.Second)
		if e.status != want {
			t.Fatalf("%s: status %v, want %v", who, e.status, want)
		}
		if d := e.at.Sub(since); d < lo || d > hi {
			t.Fatalf("%s: %v after %v, documented window %v–%v (+ slack)", who, want, d, lo, hi)
		}
		t.Logf("%s: %v after %v", who, want, e.at.Sub(since).Round(10*time.Millisecond))
	}
	const slack = 2 * time.Second
	lossAt := time.Now()
	n.set(30, false)
	within("alice", netA, duet.NetworkStatusUnstable, lossAt, 1500*time.Millisecond, 6*time.Second+slack)
	within("bob", netB, duet.NetworkStatusUnstable, lossAt, 1500*time.Millisecond, 6*time.Second+slack)
	if a.NetworkStatus() != duet.NetworkStatusUnstable {
		t.Fatalf("session status %v", a.NetworkStatus())
	}
	if l := b.RemoteVideoLostRateInPercent(); l < 10 {
		t.Fatalf("bob's remote video loss at 30 %% loss: %d %%", l)
	}

	blackAt := time.Now()
	n.set(0, true)
	within("alice", netA, duet.NetworkStatusNoData, blackAt, 3*time.Second-qualitySkew, 3500*time.Millisecond+slack)
	within("bob", netB, duet.NetworkStatusNoData, blackAt, 3*time.Second-qualitySkew, 3500*time.Millisecond+slack)

	backAt := time.Now()
	n.set(0, false)
	within("alice", netA, duet.NetworkStatusNormal, backAt, 3*time.Second-qualitySkew, 5500*time.Millisecond+slack)
	within("bob", netB, duet.NetworkStatusNormal, backAt, 3*time.Second-qualitySkew, 5500*time.Millisecond+slack)

	if err := alice.CallManager().EndCall(ctxT(t), a.CallID(), duet.EndReasonHangup); err != nil {
		t.Fatal(err)
	}
	recB.wait(t, "end")

	// Both SDKs reported samples every period: the server's timeline of the call shows the
	// loss both heard and the time they spent unstable.
	rep := qualityReport(t, srv, a.CallID())
	if len(rep.Parties) != 2 {
		t.Fatalf("quality of %d parties, want 2: %+v", len(rep.Parties), rep)
	}
	for _, p := range rep.Parties {
		s := p.Summary
		t.Logf("%s's timeline: %d samples, loss heard worst %.2f, rtt avg %.0f ms, MOS %.2f (worst %.2f), unstable %d ms, no data %d ms",
			p.User, s.Samples, s.LossInMax, s.RTTAvgMs, s.MOS, s.MOSMin, s.StatusMs["unstable"], s.StatusMs["noData"])
		if s.Samples < 5 || s.LossInMax < 0.1 || s.StatusMs["unstable"] == 0 || s.RTTAvgMs < 10 || s.MOSMin >= s.MOS {
			t.Fatalf("%s's quality summary %+v: want the lossy minutes in it", p.User, s)
		}
		// The accept-to-first-media time comes once, in a sample after the media began.
		var firsts []int
		for _, smp := range p.Samples {
			if smp.FirstMediaMs > 0 {
				firsts = append(firsts, smp.FirstMediaMs)
			}
		}
		if len(firsts) != 1 || firsts[0] > 10_000 {
			t.Fatalf("%s's samples carry firstMediaMs %v, want it once", p.User, firsts)
		}
		t.Logf("%s: accept to first media %d ms", p.User, firsts[0])
	}
	// /metrics counted both devices' setup and, once the end was stored, both parties' scores.
	srv.FlushCallRecords()
	_, metrics := srv.Do(http.MethodGet, "/metrics", "", nil)
	for _, want := range []string{"duet_call_first_media_seconds_count 2", "duet_call_quality_mos_count 2",
		`duet_call_quality_loss_ratio_count{direction="in"} 2`, "duet_call_quality_freeze_ratio_count 2"} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// qualityReport reads a call's quality through the REST API with an app token.
func qualityReport(t *testing.T, srv *servertest.Server, id string) quality.Report {
	t.Helper()
	admin := &api.AdminClient{BaseURL: srv.URL, Token: srv.AdminToken()}
	tok, err := admin.AppToken(ctxT(t), srv.AppKey, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	status, body := srv.Do(http.MethodGet, "/"+strings.Replace(srv.AppKey, "#", "/", 1)+"/calls/"+id+"/quality", tok.AccessToken, nil)
	var resp api.Response[quality.Report]
	if status != http.StatusOK || json.Unmarshal(body, &resp) != nil || len(resp.Entities) != 1 {
		t.Fatalf("quality report: %d %s", status, body)
	}
	return resp.Entities[0]
}

// qualitySkew allows for packets already in flight (20 ms of delay) when the link changes.
const qualitySkew = 100 * time.Millisecond

// TestCustomVideoRefusedBeforeAccept: frames fed before the call is accepted are refused,
// as the seed requires; so are frames for an unknown call or without the option.
func TestCustomVideoRefusedBeforeAccept(t *testing.T) {
	srv := servertest.Start(t)
	alice, recA := newClient(t, srv, "alice")
	bob, recB := newClient(t, srv, "bob")
	frame := duet.VideoFrame{Format: duet.VideoFormatI420, Width: 16, Height: 16, Data: make([]byte, 16*16*3/2)}
	if err := alice.CallManager().InputVideoFrame("nope", frame, 0); duet.ErrorCodeOf(err) != duet.ErrorCallInvalidID {
		t.Fatalf("unknown call: %v", err)
	}
	opts := duet.DefaultCallOptions()
	opts.EnableCustomizeVideoData = true
	if err := alice.CallManager().SetCallOptions(opts); err != nil {
		t.Fatal(err)
	}
	s, err := alice.CallManager().StartCall(ctxT(t), duet.CallTypeVideo, "bob", "")
	if err != nil {
		t.Fatal(err)
	}
	in := recB.wait(t, "receive").session
	recA.wait(t, "connect")
	if err := alice.CallManager().InputVideoFrame(s.CallID(), frame, 0); err == nil || errors.Is(err, duet.ErrNoVPX) {
		t.Fatalf("a frame before accept: %v, want refused for the status", err)
	}
	if err := s.SwitchCameraPosition(false); err == nil {
		t.Fatal("camera switch with custom video accepted")
	}
	// bob did not enable custom video.
	if err := bob.CallManager().InputVideoFrame(in.CallID(), frame, 0); err == nil {
		t.Fatal("a frame without EnableCustomizeVideoData accepted")
	}
	if err := bob.CallManager().EndCall(ctxT(t), in.CallID(), duet.EndReasonDecline); err != nil {
		t.Fatal(err)
	}
	recA.wait(t, "end")
}

// writePNG writes a w×h PNG of colour c.
func writePNG(t *testing.T, path string, w, h int, c color.NRGBA) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.SetNRGBA(x, y, c)
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	if path != "" {
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

func TestWatermarkLoading(t *testing.T) {
	srv := servertest.Start(t)
	alice, _ := newClient(t, srv, "alice")
	m := alice.CallManager()
	dir := t.TempDir()
	file := filepath.Join(dir, "wm.png")
	pngBytes := writePNG(t, file, 40, 20, color.NRGBA{255, 0, 0, 200})
	if err := os.WriteFile(filepath.Join(dir, "bad.png"), []byte("not a png"), 0o644); err != nil {
		t.Fatal(err)
	}
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/wm.png" {
			w.Write(pngBytes)
			return
		}
		http.NotFound(w, r)
	}))
	defer web.Close()
	for _, c := range []struct {
		name string
		opt  duet.WatermarkOption
		ok   bool
	}{
		{"file", duet.WatermarkOption{Image: file, MarginX: 8, MarginY: 8, StartPoint: duet.WatermarkRightTop, Enable: true}, true},
		{"loopback URL", duet.WatermarkOption{Image: web.URL + "/wm.png", StartPoint: duet.WatermarkLeftBottom, Enable: true}, true},
		{"missing file", duet.WatermarkOption{Image: filepath.Join(dir, "none.png")}, false},
		{"not an image", duet.WatermarkOption{Image: filepath.Join(dir, "bad.png")}, false},
		{"404", duet.WatermarkOption{Image: web.URL + "/gone.png"}, false},
		{"negative margin", duet.WatermarkOption{Image: file, MarginX: -1}, false},
		{"bad corner", duet.WatermarkOption{Image: file, StartPoint: 4}, false},
		{"no image", duet.WatermarkOption{}, false},
	} {
		err := m.AddVideoWatermark(c.opt)
		if (err == nil) != c.ok {
			t.Errorf("%s: %v", c.name, err)
		}
		if err != nil && duet.ErrorCodeOf(err) != 205 {
			t.Errorf("%s: code %d, want 205 (illegal argument)", c.name, duet.ErrorCodeOf(err))
		}
	}
	m.ClearVideoWatermark()
}

func TestCallOptionsRefuseNonOpusRates(t *testing.T) {
	o := duet.DefaultCallOptions()
	o.AudioCustomSamples = 44100
	if err := o.Validate(); err == nil {
		t.Fatal("44.1 kHz accepted: Opus cannot encode it")
	}
	o.AudioCustomSamples = 16000
	if err := o.Validate(); err != nil {
		t.Fatal(err)
	}
}
