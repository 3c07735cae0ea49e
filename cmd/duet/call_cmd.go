package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/duet-rtc/duet"
	"github.com/duet-rtc/duet/media"
	"github.com/duet-rtc/duet/protocol"
)

// callFlags are the flags of `duet call`.
type callFlags struct {
	server, appKey, user, password, device string
	to                                     string
	video, answer, decline, jsonOut        bool
	loopback, register, pushIfOffline      bool
	send                                   []string
	saveRemote                             string
	duration, after, timeout               time.Duration
	expectReason                           int
	record, merge                          bool // --record, --merge
	media                                  callMediaFlags
}

func callCommand() *cobra.Command {
	var f callFlags
	cmd := &cobra.Command{
		Use:   "call",
		Short: "A headless call client: dial with --to, or wait for a call with --answer",
		Long: `A headless call client: dial with --to, or wait for a call with --answer.
Exit status: 0 the call ended as expected (--expect-reason) with its media connected; 3 the
call could not start; 4 it ended with another reason; 5 no end within --timeout; 7 it was
answered and ended as expected but its media never connected.`,
		Example: `  duet call --user bob --password pw --answer --after 1s --json
  duet call --user alice --password pw --to bob --video --send testdata/media/pattern-320x240.ivf --duration 5s --json
  duet call --user alice --password pw --to bob --video --test-pattern --resolution 640x480 --max-video-kbps 300 --stats --json`,
		RunE: func(cmd *cobra.Command, _ []string) error { return runCall(cmd.Context(), f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.server, "server", envOr("DUET_SERVER", "http://127.0.0.1:8080"), "server URL, or a comma-separated list of a cluster's nodes (DUET_SERVER)")
	fl.StringVar(&f.appKey, "appkey", envOr("DUET_APPKEY", "demo#duet"), "app key org#app (DUET_APPKEY)")
	fl.StringVar(&f.user, "user", envOr("DUET_USER", ""), "username (DUET_USER)")
	fl.StringVar(&f.password, "password", envOr("DUET_PASSWORD", ""), "password (DUET_PASSWORD)")
	fl.StringVar(&f.device, "device", "", "device id (default: random)")
	fl.BoolVar(&f.register, "register", false, "register the user first if it does not exist (open-registration apps)")
	fl.StringVar(&f.to, "to", "", "user to call")
	fl.BoolVar(&f.video, "video", false, "make a video call (default voice)")
	fl.StringArrayVar(&f.send, "send", nil, "media file to send, looped: .ogg (Opus) or .ivf (VP8); repeatable")
	fl.StringVar(&f.saveRemote, "save-remote", "", "write the remote media to PREFIX.ogg and PREFIX.ivf")
	fl.DurationVar(&f.duration, "duration", 5*time.Second, "hang up this long after the call is accepted (0: wait for the peer)")
	fl.BoolVar(&f.answer, "answer", false, "wait for one incoming call")
	fl.DurationVar(&f.after, "after", time.Second, "with --answer: answer (or decline) this long after the call rings")
	fl.BoolVar(&f.decline, "decline", false, "with --answer: decline instead of answering")
	fl.BoolVar(&f.jsonOut, "json", false, "print one JSON line per callback")
	fl.BoolVar(&f.record, "record", false, "with --to: the server records the call (its media goes through the server's relay)")
	fl.BoolVar(&f.merge, "merge", false, "with --record: also compose both parties into one file")
	fl.BoolVar(&f.loopback, "loopback", false, "restrict ICE to loopback candidates (127.0.0.1)")
	fl.BoolVar(&f.pushIfOffline, "push-if-offline", false, "if the callee is offline, have the server push to its devices and keep ringing")
	fl.IntVar(&f.expectReason, "expect-reason", -1, "the end reason that counts as success (default: 2 with --decline, else 0)")
	fl.DurationVar(&f.timeout, "timeout", 2*time.Minute, "give up after this long")
	addCallMediaFlags(cmd, &f.media)
	return cmd
}

// callEvent is one JSON line of `duet call --json`.
type callEvent struct {
	Event         string `json:"event"`
	CallID        string `json:"callId,omitempty"`
	Remote        string `json:"remote,omitempty"`
	Status        int    `json:"status"`
	StatusName    string `json:"statusName"`
	Reason        *int   `json:"reason,omitempty"`
	ReasonName    string `json:"reasonName,omitempty"`
	ConnectType   int    `json:"connectType"`
	ConnectName   string `json:"connectTypeName"`
	ServerVideoID string `json:"serverVideoId,omitempty"` // recorded calls, from callDidConnect on
	Error         string `json:"error,omitempty"`
	Time          int64  `json:"time"` // unix milliseconds
	// Network is the network status (0 normal, 1 unstable, 2 no data) of
	// callNetworkDidChange and stats events.
	Network     *int   `json:"network,omitempty"`
	NetworkName string `json:"networkName,omitempty"`
	// Stats are the session's statistics (stats events, every 2 s with --stats).
	Stats *callStatsEvent `json:"stats,omitempty"`
	// Path is the file a snapshot event wrote.
	Path string `json:"path,omitempty"`
}

// callReporter prints callbacks and remembers how the call ended.
type callReporter struct {
	duet.CallManagerDelegateBase
	f       callFlags
	m       *duet.CallManager
	mu      sync.Mutex
	ended   chan duet.EndReason
	once    sync.Once
	started time.Time
	media   *callMedia     // what the media flags prepared
	wg      sync.WaitGroup // media feature goroutines
	// accepted and connected tell a call whose media never flowed (exitNoMedia).
	accepted, connected atomic.Bool
}

func (r *callReporter) emit(ev string, s *duet.CallSession, reason *duet.EndReason, err error) {
	r.emitWith(ev, s, reason, err, nil)
}

// emitWith emits an event with extra fields set by extra (nil: none).
func (r *callReporter) emitWith(ev string, s *duet.CallSession, reason *duet.EndReason, err error, extra func(*callEvent)) {
	e := callEvent{Event: ev, Time: time.Now().UnixMilli()}
	if extra != nil {
		extra(&e)
	}
	if s != nil {
		e.CallID, e.Remote, e.Status, e.ConnectType = s.CallID(), s.RemoteName(), int(s.Status()), int(s.ConnectType())
		e.ServerVideoID = s.ServerVideoID()
	}
	if reason != nil {
		n := int(*reason)
		e.Reason = &n
		e.ReasonName = endReasonNames[*reason]
	}
	e.StatusName = callStatusNames[protocol.CallStatus(e.Status)]
	e.ConnectName = connectTypeNames[protocol.ConnectType(e.ConnectType)]
	if e.Network != nil {
		e.NetworkName = networkNames[protocol.NetworkStatus(*e.Network)]
	}
	if err != nil {
		e.Error = err.Error()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.f.jsonOut {
		b, _ := json.Marshal(e)
		fmt.Println(string(b))
		return
	}
	line := fmt.Sprintf("%-14s", ev)
	if s != nil {
		line += fmt.Sprintf(" call=%s remote=%s status=%d connectType=%d", e.CallID, e.Remote, e.Status, e.ConnectType)
	}
	if reason != nil {
		line += fmt.Sprintf(" reason=%d (%s)", *reason, *reason)
	}
	if e.Network != nil {
		line += fmt.Sprintf(" network=%d", *e.Network)
	}
	if e.Stats != nil {
		line += fmt.Sprintf(" stats=%+v", *e.Stats)
	}
	if e.Path != "" {
		line += " path=" + e.Path
	}
	if err != nil {
		line += " error=" + err.Error()
	}
	fmt.Println(line)
}

func (r *callReporter) CallDidReceive(s *duet.CallSession) {
	r.emit("callDidReceive", s, nil, nil)
	if !r.f.answer {
		return
	}
	go func() {
		time.Sleep(r.f.after)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		var err error
		if r.f.decline {
			err = r.m.EndCall(ctx, s.CallID(), duet.EndReasonDecline)
		} else {
			err = r.m.AnswerIncomingCall(ctx, s.CallID())
		}
		if err != nil {
			r.emit("error", s, nil, err)
		}
	}()
}

func (r *callReporter) CallDidConnect(s *duet.CallSession) {
	r.connected.Store(true)
	r.emit("callDidConnect", s, nil, nil)
}

func (r *callReporter) CallDidAccept(s *duet.CallSession) {
	r.accepted.Store(true)
	r.emit("callDidAccept", s, nil, nil)
	r.startMediaFeatures(s)
	if r.f.duration <= 0 || r.f.answer {
		return
	}
	go func() {
		select {
		case <-time.After(r.f.duration):
		case <-s.Done():
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = r.m.EndCall(ctx, s.CallID(), duet.EndReasonHangup)
	}()
}

func (r *callReporter) CallDidEnd(s *duet.CallSession, reason duet.EndReason, err error) {
	r.emit("callDidEnd", s, &reason, err)
	r.once.Do(func() { r.ended <- reason })
}

func (r *callReporter) CallStateDidChange(s *duet.CallSession, st duet.StreamStatus) {
	r.emit("callStateDidChange:"+st.String(), s, nil, nil)
}

func (r *callReporter) CallRemoteOffline(remote string) {
	r.emit("callRemoteOffline", nil, nil, nil)
}

func runCall(parent context.Context, f callFlags) error {
	if f.user == "" || f.password == "" {
		return errors.New("--user and --password are required")
	}
	if (f.to == "") == !f.answer {
		return errors.New("give either --to USER (dial) or --answer (wait for a call)")
	}
	if f.expectReason < 0 {
		f.expectReason = int(duet.EndReasonHangup)
		if f.decline {
			f.expectReason = int(duet.EndReasonDecline)
		}
	}
	cm, err := f.media.prepare()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(parent, f.timeout)
	defer cancel()
	client, err := duet.NewClient(duet.Options{
		AppKey: f.appKey, ServerURL: f.server, DeviceID: f.device,
		ICE: duet.ICEOptions{LoopbackOnly: f.loopback, RelayOnly: f.media.relayOnly},
	})
	if err != nil {
		return err
	}
	defer client.Close()
	if f.register {
		if err := client.Register(ctx, f.user, f.password); err != nil && duet.ErrorCodeOf(err) != duet.ErrorUserAlreadyExist {
			return fmt.Errorf("register: %w", err)
		}
	}
	if err := client.Login(ctx, f.user, f.password); err != nil {
		return fmt.Errorf("login: %w", err)
	}
	m := client.CallManager()
	if err := cm.apply(m); err != nil {
		return err
	}
	mo, closers, err := mediaOptions(f)
	if err != nil {
		return err
	}
	defer closers()
	m.SetMediaOptions(mo)
	rep := &callReporter{f: f, m: m, ended: make(chan duet.EndReason, 1), media: cm}
	defer rep.wg.Wait() // after the call ended: feeders and timers stop with it
	m.AddDelegate(rep, nil)
	m.SetBuilderDelegate(rep)
	if f.pushIfOffline {
		o := m.CallOptions()
		o.IsSendPushIfOffline = true
		if err := m.SetCallOptions(o); err != nil {
			return err
		}
	}
	rep.emit("loggedIn", nil, nil, nil)

	if f.to != "" {
		t := duet.CallTypeVoice
		if f.video {
			t = duet.CallTypeVideo
		}
		s, err := m.StartCall(ctx, t, f.to, "", recordOptions(f.record, f.merge)...)
		if err != nil {
			rep.emit("startCallFailed", nil, nil, err)
			return &exitError{code: 3, err: fmt.Errorf("start call: %w", err)}
		}
		rep.emit("callStarted", s, nil, nil)
	}
	select {
	case reason := <-rep.ended:
		if int(reason) != f.expectReason {
			return &exitError{code: 4, err: fmt.Errorf("call ended with reason %d (%s), expected %d", reason, reason, f.expectReason)}
		}
		if rep.accepted.Load() && !rep.connected.Load() {
			// Answered and hung up as asked, yet no media ever flowed: not a success.
			return &exitError{code: exitNoMedia, err: errors.New("the call was answered but its media never connected: ICE found no path to the peer (or, for --record, to the server's media relay); on one machine give both clients --loopback")}
		}
		return nil
	case <-ctx.Done():
		return &exitError{code: 5, err: fmt.Errorf("no end of call within --timeout %v", f.timeout)}
	}
}

// exitNoMedia is the exit status of `duet call` when the call was answered and ended as
// expected but its media never connected.
const exitNoMedia = 7

// mediaOptions opens --send files (or --test-pattern) as sources and --save-remote as sinks.
func mediaOptions(f callFlags) (duet.MediaOptions, func(), error) {
	var mo duet.MediaOptions
	if f.media.testPattern {
		_, w, h, err := parseResolution(f.media.resolution)
		if err != nil {
			return mo, nil, err
		}
		fps := f.media.fps
		if fps == 0 {
			fps = 30
		}
		tp, err := media.NewTestPattern(w, h, fps) // fail now rather than when the call starts
		if err != nil {
			return mo, nil, fmt.Errorf("--test-pattern: %w", err)
		}
		tp.Close()
		mo.VideoSource = func(*duet.CallSession) (media.Source, error) { return media.NewTestPattern(w, h, fps) }
	}
	for _, path := range f.send {
		path := path
		switch strings.ToLower(filepath.Ext(path)) {
		case ".ogg", ".opus":
			mo.AudioSource = func(*duet.CallSession) (media.Source, error) { return media.OpenOgg(path) }
		case ".ivf":
			mo.VideoSource = func(*duet.CallSession) (media.Source, error) { return media.OpenIVF(path) }
		default:
			return mo, nil, fmt.Errorf("--send %s: only .ogg (Opus) and .ivf (VP8) files are supported", path)
		}
		if _, err := os.Stat(path); err != nil {
			return mo, nil, fmt.Errorf("--send: %w", err)
		}
	}
	var mu sync.Mutex
	var sinks []media.Sink
	if f.saveRemote != "" {
		mo.RemoteSinks = func(s *duet.CallSession) (media.Sink, media.Sink) {
			mu.Lock()
			defer mu.Unlock()
			audio, err := media.CreateOgg(f.saveRemote + ".ogg")
			if err != nil {
				fmt.Fprintln(os.Stderr, "duet: --save-remote:", err)
				return nil, nil
			}
			sinks = append(sinks, audio)
			if s.Type() != duet.CallTypeVideo {
				return audio, nil
			}
			video, err := media.CreateIVF(f.saveRemote + ".ivf")
			if err != nil {
				fmt.Fprintln(os.Stderr, "duet: --save-remote:", err)
				return audio, nil
			}
			sinks = append(sinks, video)
			return audio, video
		}
	}
	return mo, func() {
		mu.Lock()
		defer mu.Unlock()
		for _, s := range sinks {
			s.Close()
		}
	}, nil
}
