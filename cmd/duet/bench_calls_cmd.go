package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/duet-rtc/duet"
	"github.com/duet-rtc/duet/internal/loadgen"
	"github.com/duet-rtc/duet/media"
)

// callsBenchFlags are the flags of `duet bench calls`.
type callsBenchFlags struct {
	servers, appKey, users, password string
	mediaKind, files, serverPIDs     string
	cpuProfile                       string
	pairs                            int
	rate                             float64
	duration, hold, answerAfter      time.Duration
	stepTimeout                      time.Duration
	record, loopback, jsonOut        bool
}

func benchCallsCommand() *cobra.Command {
	var f callsBenchFlags
	cmd := &cobra.Command{
		Use:   "calls",
		Short: "Place calls against a server or cluster at a rate and report throughput, latency and failures",
		Long: `Logs in --pairs pairs of clients (registering users USERS<i>a and USERS<i>b with --password
if they do not exist), spread over the --server URLs in turn, and has each caller call its
callee, who answers (at once, or after --answer-after), --rate times a second over all pairs for --duration. With media
the caller waits for the callee's first frame (audio: the first Opus packet; video: the first
complete VP8 keyframe) and holds the call --hold; then it hangs up. Reports call cycles per
second, latency histograms (invite → ring at the callee, accept → first frame at the caller,
end → ended at the callee) and failures by step and error code; with --server-pid, the CPU
the server processes used. --media none is a voice call whose media is the SDK's silence;
audio sends a tone; video a live test pattern (vpx build); file the --files (.ogg, .ivf).
A progress line is shown on a terminal; --json prints one JSON object. The exit status is 1
when no call completed.`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runCallsBench(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.servers, "server", envOr("DUET_SERVER", "http://127.0.0.1:8080"), "server base URL, or a comma-separated list (a cluster's nodes) (DUET_SERVER)")
	fl.StringVar(&f.appKey, "appkey", envOr("DUET_APPKEY", "demo#duet"), "app key org#app (DUET_APPKEY)")
	fl.StringVar(&f.users, "users", "bench", "user name prefix: pair i is <prefix><i>a calling <prefix><i>b")
	fl.StringVar(&f.password, "password", "bench-password", "the users' password")
	fl.IntVar(&f.pairs, "pairs", 10, "caller-callee pairs, each with one call at a time (1-5000)")
	fl.Float64Var(&f.rate, "rate", 10, "call cycles started per second over all pairs (0: as fast as the pairs go)")
	fl.DurationVar(&f.duration, "duration", 10*time.Second, "how long cycles are started")
	fl.StringVar(&f.mediaKind, "media", "none", "none, audio, video or file")
	fl.StringVar(&f.files, "files", "", "with --media file: an .ogg and/or an .ivf both parties send, comma-separated")
	fl.BoolVar(&f.record, "record", false, "record every call (media through the server's relay)")
	fl.DurationVar(&f.answerAfter, "answer-after", 0, "how long a call rings before the callee answers (0: at once, before media connects; 1s lets it pre-connect)")
	fl.DurationVar(&f.hold, "hold", 0, "how long a call stays up after its first frame (or accept)")
	fl.DurationVar(&f.stepTimeout, "step-timeout", 10*time.Second, "how long each step of a call may take before it counts as a timeout")
	fl.BoolVar(&f.loopback, "loopback", false, "restrict ICE to loopback (a server on this machine)")
	fl.StringVar(&f.serverPIDs, "server-pid", "", "the server processes' ids, comma-separated, to report their CPU (a server on this machine)")
	fl.BoolVar(&f.jsonOut, "json", false, "print the result as one JSON object")
	fl.StringVar(&f.cpuProfile, "cpuprofile", "", "write this process's CPU profile (the clients') to this file, for go tool pprof")
	return cmd
}

func runCallsBench(ctx context.Context, out, progressOut io.Writer, f callsBenchFlags) error {
	cfg := loadgen.Config{
		Servers: splitTrimmed(f.servers), AppKey: f.appKey, Users: f.users, Password: f.password,
		Pairs: f.pairs, Rate: f.rate, Duration: f.duration, Record: f.record, Hold: f.hold, AnswerAfter: f.answerAfter,
		Loopback: f.loopback, StepTimeout: f.stepTimeout,
	}
	if f.pairs < 1 || f.pairs > 5000 {
		return errors.New("--pairs must be 1-5000")
	}
	var err error
	if cfg.Media, cfg.Sources, err = benchMedia(f.mediaKind, f.files); err != nil {
		return err
	}
	pids, err := parsePIDs(f.serverPIDs)
	if err != nil {
		return err
	}
	if isTerminalWriter(progressOut) && !f.jsonOut {
		cfg.Progress = func(p loadgen.Progress) { printProgress(progressOut, p) }
	}
	if f.cpuProfile != "" {
		pf, err := os.Create(f.cpuProfile)
		if err != nil {
			return err
		}
		defer pf.Close()
		if err := pprof.StartCPUProfile(pf); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	if len(pids) > 0 {
		cfg.ServerCPU = func() (time.Duration, bool) { d := cpuOf(pids); return d, d >= 0 }
	}
	res, err := loadgen.Run(ctx, cfg)
	if err != nil {
		return err
	}
	if cfg.Progress != nil {
		fmt.Fprintln(progressOut)
	}
	if f.jsonOut {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
			return err
		}
	} else {
		printCallsResult(out, res)
	}
	if res.Completed == 0 {
		return &exitError{code: 1, err: fmt.Errorf("no call completed (%d failures)", res.Failed())}
	}
	return nil
}

// benchMedia maps --media and --files to what the parties send.
func benchMedia(kind, files string) (loadgen.Media, duet.MediaOptions, error) {
	var opts duet.MediaOptions
	switch kind {
	case "none":
		return loadgen.MediaNone, opts, nil
	case "audio":
		opts.AudioSource = func(*duet.CallSession) (media.Source, error) { return media.NewTone(440, 48000) }
		return loadgen.MediaAudio, opts, nil
	case "video":
		if _, err := media.NewTestPattern(320, 240, 30); errors.Is(err, media.ErrNoVPX) {
			return 0, opts, errors.New("--media video encodes a test pattern and needs a vpx build; use --media file --files x.ivf")
		}
		opts.AudioSource = func(*duet.CallSession) (media.Source, error) { return media.NewTone(440, 48000) }
		opts.VideoSource = func(*duet.CallSession) (media.Source, error) {
			p, err := media.NewTestPattern(320, 240, 30)
			if err != nil {
				return nil, err
			}
			return p, nil
		}
		return loadgen.MediaVideo, opts, nil
	case "file":
		m := loadgen.MediaAudio
		for _, path := range splitTrimmed(files) {
			switch strings.ToLower(filepath.Ext(path)) {
			case ".ogg", ".opus":
				opts.AudioSource = func(*duet.CallSession) (media.Source, error) { return media.OpenOgg(path) }
			case ".ivf":
				opts.VideoSource = func(*duet.CallSession) (media.Source, error) { return media.OpenIVF(path) }
				m = loadgen.MediaVideo
			default:
				return 0, opts, fmt.Errorf("--files: %s is neither .ogg nor .ivf", path)
			}
			if _, err := os.Stat(path); err != nil {
				return 0, opts, fmt.Errorf("--files: %w", err)
			}
		}
		if opts.AudioSource == nil && opts.VideoSource == nil {
			return 0, opts, errors.New("--media file needs --files")
		}
		return m, opts, nil
	}
	return 0, opts, fmt.Errorf("--media %q: want none, audio, video or file", kind)
}

// splitTrimmed splits a comma-separated list, dropping blanks.
func splitTrimmed(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

func parsePIDs(s string) ([]int, error) {
	var pids []int
	for _, v := range splitTrimmed(s) {
		pid, err := strconv.Atoi(v)
		if err != nil || pid <= 0 {
			return nil, fmt.Errorf("--server-pid %q: not a process id", v)
		}
		pids = append(pids, pid)
	}
	return pids, nil
}

// cpuOf returns the CPU time the processes used so far, -1 when there are none or one
// cannot be read.
func cpuOf(pids []int) time.Duration {
	if len(pids) == 0 {
		return -1
	}
	var sum time.Duration
	for _, pid := range pids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return -1
		}
		// The fields after the command name, which may hold spaces: utime and stime are
		// the 12th and 13th, in USER_HZ (100 on Linux).
		i := strings.LastIndexByte(string(b), ')')
		f := strings.Fields(string(b[i+2:]))
		if len(f) < 13 {
			return -1
		}
		ut, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		sum += time.Duration(ut+st) * 10 * time.Millisecond
	}
	return sum
}

// isTerminalWriter reports whether w is a terminal: the progress line is for people only.
func isTerminalWriter(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && isTerminal(f)
}

func printProgress(w io.Writer, p loadgen.Progress) {
	const width = 30
	done := int(float64(width) * p.Elapsed.Seconds() / p.Duration.Seconds())
	done = max(0, min(width, done))
	fmt.Fprintf(w, "\r[%s%s] %5.1fs/%.0fs  started %d  completed %d  failed %d  %.0f/s ",
		strings.Repeat("#", done), strings.Repeat(".", width-done), min(p.Elapsed.Seconds(), p.Duration.Seconds()),
		p.Duration.Seconds(), p.Started, p.Completed, p.Failed, p.AtRate)
}

func printCallsResult(w io.Writer, r *loadgen.Result) {
	fmt.Fprintf(w, "servers %s  pairs %d (%d logged in)  media %s  record %v\n",
		strings.Join(r.Servers, ","), r.Pairs, r.Connected, r.Media, r.Record)
	target := "unpaced"
	if r.Target > 0 {
		target = fmt.Sprintf("target %.0f/s", r.Target)
	}
	fmt.Fprintf(w, "call cycles: %d completed of %d started in %.1f s: %.1f/s (%s)\n",
		r.Completed, r.Started, r.Elapsed, r.Rate, target)
	line := func(name string, s loadgen.Summary) {
		fmt.Fprintf(w, "  %-20s n=%-7d p50 %8.2f ms  p90 %8.2f  p95 %8.2f  p99 %8.2f  max %8.2f\n",
			name, s.Count, s.P50, s.P90, s.P95, s.P99, s.Max)
	}
	line("invite → ring", r.Latency.InviteRing)
	if r.Latency.AcceptFirst != nil {
		line("accept → first frame", *r.Latency.AcceptFirst)
	}
	line("end → ended", r.Latency.EndEnded)
	if r.ServerCPU >= 0 {
		fmt.Fprintf(w, "server CPU: %.1f %% of a core (%.2f %% per call cycle/s)\n", r.ServerCPU*100, r.ServerCPU*100/max(r.Rate, 1e-9))
	}
	if n := r.Failed(); n > 0 {
		fmt.Fprintf(w, "failures: %d\n", n)
		for _, k := range r.FailureKeys() {
			fmt.Fprintf(w, "  %-24s %d\n", k, r.Failures[k])
		}
	}
}
