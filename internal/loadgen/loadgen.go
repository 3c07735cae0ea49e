// Package loadgen places calls against a duet server or cluster at a given rate, the way an
// operator's load test does (`duet bench calls`): pairs of SDK clients, each a real device
// connection, register or reuse their users, and one of each pair calls the other, who
// answers; media flows if asked for; the caller hangs up. Each step is timed where a user
// would see it (invite → ring at the callee, accept → first remote frame at the caller,
// end → ended at the callee), and every failure is counted by its error code.
package loadgen

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/duet-rtc/duet"
	"github.com/duet-rtc/duet/media"
)

// Media is what each party sends in a call.
type Media int

// The media a run may send.
const (
	MediaNone  Media = iota // a voice call; no first frame is waited for
	MediaAudio              // a voice call sending a tone; first frame: the first Opus packet
	MediaVideo              // a video call; first frame: the first complete VP8 keyframe
)

// String names m as the --media flag does.
func (m Media) String() string {
	return [...]string{"none", "audio", "video"}[m]
}

// Config shapes a run.
type Config struct {
	// Servers are the servers' base URLs; the clients are spread over them in turn (a
	// cluster's nodes).
	Servers []string
	// AppKey is the app the users belong to ("org#app").
	AppKey string
	// Users names the users: pair i is Users-i-a calling Users-i-b. They are registered
	// with Password if they do not exist.
	Users, Password string
	// Pairs is how many caller-callee pairs place calls, each one call at a time.
	Pairs int
	// Rate is the call cycles started per second over all pairs (0: as fast as they can).
	Rate float64
	// Duration is how long new cycles start; cycles running then are finished.
	Duration time.Duration
	// Media is what the parties send; Sources opens it (nil: the SDK's Opus silence).
	Media   Media
	Sources duet.MediaOptions
	// Record asks the server to record every call (its media crosses the server's relay).
	Record bool
	// AnswerAfter is how long the callee lets the call ring before it answers: 0 answers
	// at once, before the parties' media connections are up; a user's second or so lets
	// them pre-connect.
	AnswerAfter time.Duration
	// Hold is how long a call stays up after the first frame (or the accept).
	Hold time.Duration
	// Loopback restricts ICE to loopback (a server on this machine).
	Loopback bool
	// StepTimeout bounds each step of a cycle; default 10 s.
	StepTimeout time.Duration
	// ServerCPU, if set, returns the CPU time the server processes have used so far (false:
	// unknown); it is read when the calls start and when they are over, so that logging the
	// pairs in (password hashing) is not counted.
	ServerCPU func() (time.Duration, bool)
	// Progress, if set, is called about every 200 ms with the counts so far.
	Progress func(Progress)
}

// Progress is a run's counts so far.
type Progress struct {
	Elapsed            time.Duration
	Started, Completed int64
	Failed             int64
	Duration           time.Duration
	TargetRate, AtRate float64
}

// Result is a finished run.
type Result struct {
	Servers   []string       `json:"servers"`
	Pairs     int            `json:"pairs"`
	Connected int            `json:"connectedPairs"` // pairs whose both clients logged in
	Media     string         `json:"media"`
	Record    bool           `json:"record"`
	Target    float64        `json:"targetRate"` // cycles/s asked for (0: unpaced)
	Elapsed   float64        `json:"elapsedSeconds"`
	Started   int            `json:"started"`
	Completed int            `json:"completed"`
	Rate      float64        `json:"completedPerSecond"`
	Failures  map[string]int `json:"failures"` // by error code ("login:201", "timeout", ...)
	Latency   struct {
		InviteRing  Summary  `json:"inviteRing"`
		AcceptFirst *Summary `json:"acceptFirstFrame,omitempty"`
		EndEnded    Summary  `json:"endEnded"`
	} `json:"latency"`
	ServerCPU float64 `json:"serverCpu"` // cores the server processes used while calls ran, -1: not known
}

// Failed is how many failures the run counted.
func (r *Result) Failed() int {
	n := 0
	for _, c := range r.Failures {
		n += c
	}
	return n
}

// run is one run's shared state.
type run struct {
	cfg     Config
	start   time.Time
	next    atomic.Int64 // the next cycle's slot
	started atomic.Int64
	done    atomic.Int64
	failed  atomic.Int64

	mu                       sync.Mutex
	failures                 map[string]int
	inviteRing, first, ended Histogram
}

// Run logs the pairs in, places calls until cfg.Duration is over, and reports. It returns
// an error only for a configuration it cannot run; everything that fails on the way is
// counted in Result.Failures.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	switch {
	case len(cfg.Servers) == 0:
		return nil, errors.New("loadgen: no server")
	case cfg.Pairs < 1:
		return nil, errors.New("loadgen: pairs must be at least 1")
	case cfg.Duration <= 0:
		return nil, errors.New("loadgen: duration must be positive")
	case cfg.Rate < 0:
		return nil, errors.New("loadgen: rate must not be negative")
	}
	if cfg.StepTimeout <= 0 {
		cfg.StepTimeout = 10 * time.Second
	}
	r := &run{cfg: cfg, failures: map[string]int{}}
	pairs := r.connect(ctx)
	defer func() {
		for _, p := range pairs {
			p.close()
		}
	}()
	cpu0, cpuOK := time.Duration(0), false
	if cfg.ServerCPU != nil {
		cpu0, cpuOK = cfg.ServerCPU()
	}
	r.start = time.Now()
	stopProgress := r.progress()
	var wg sync.WaitGroup
	for _, p := range pairs {
		wg.Add(1)
		go func() { defer wg.Done(); r.work(ctx, p) }()
	}
	wg.Wait()
	stopProgress()
	res := r.result(len(pairs))
	if cpuOK {
		if cpu1, ok := cfg.ServerCPU(); ok && res.Elapsed > 0 {
			res.ServerCPU = (cpu1 - cpu0).Seconds() / res.Elapsed
		}
	}
	return res, nil
}

// cycler is a pair of clients that places calls: SDK clients (pair) or, without media,
// raw protocol clients (rawPair).
type cycler interface {
	cycle(ctx context.Context, cfg Config) (sample, error)
	close()
}

// newCycler logs pair i in with the clients cfg's media needs.
func newCycler(ctx context.Context, cfg Config, i int) (cycler, error) {
	if cfg.Media == MediaNone {
		return newRawPair(ctx, cfg, i)
	}
	return newPair(ctx, cfg, i)
}

// connect logs every pair in, in parallel, and returns those that are.
func (r *run) connect(ctx context.Context) []cycler {
	var (
		mu    sync.Mutex
		pairs []cycler
		wg    sync.WaitGroup
		sem   = make(chan struct{}, 32) // logins at a time: a big run must not storm the server
	)
	for i := 0; i < r.cfg.Pairs; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			p, err := newCycler(ctx, r.cfg, i)
			if err != nil {
				r.fail("login", err)
				return
			}
			mu.Lock()
			pairs = append(pairs, p)
			mu.Unlock()
		}()
	}
	wg.Wait()
	return pairs
}

// work runs cycles on p at its slots until the run is over.
func (r *run) work(ctx context.Context, p cycler) {
	for ctx.Err() == nil {
		at, ok := r.slot()
		if !ok {
			return
		}
		if wait := time.Until(at); wait > 0 {
			select {
			case <-time.After(wait):
			case <-ctx.Done():
				return
			}
		}
		r.started.Add(1)
		s, err := p.cycle(ctx, r.cfg)
		r.mu.Lock()
		if s.ring > 0 {
			r.inviteRing.Add(s.ring)
		}
		if s.first > 0 {
			r.first.Add(s.first)
		}
		if s.ended > 0 {
			r.ended.Add(s.ended)
		}
		r.mu.Unlock()
		if err != nil {
			r.fail(s.step, err)
			continue
		}
		r.done.Add(1)
	}
}

// slot returns when the next cycle starts, and false once the run's duration is over.
// Unpaced, a cycle starts as soon as a pair is free.
func (r *run) slot() (time.Time, bool) {
	n := r.next.Add(1) - 1
	at := r.start
	if r.cfg.Rate > 0 {
		at = r.start.Add(time.Duration(float64(n) / r.cfg.Rate * float64(time.Second)))
	}
	now := time.Now()
	if now.Sub(r.start) >= r.cfg.Duration || at.Sub(r.start) >= r.cfg.Duration {
		return time.Time{}, false
	}
	return at, true
}

// fail counts a failure of step by its error code.
func (r *run) fail(step string, err error) {
	r.failed.Add(1)
	key := step + ":" + codeOf(err)
	r.mu.Lock()
	r.failures[key]++
	r.mu.Unlock()
}

// codeOf names an error as a report counts it: the duet error code, or timeout.
func codeOf(err error) string {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, errTimeout) {
		return "timeout"
	}
	if c := duet.ErrorCodeOf(err); c != 0 {
		return fmt.Sprint(int(c))
	}
	return "other"
}

// progress calls cfg.Progress until the returned function is called.
func (r *run) progress() (stop func()) {
	if r.cfg.Progress == nil {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				r.cfg.Progress(r.snapshot())
			case <-done:
				r.cfg.Progress(r.snapshot())
				return
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

func (r *run) snapshot() Progress {
	el := time.Since(r.start)
	p := Progress{Elapsed: el, Started: r.started.Load(), Completed: r.done.Load(), Failed: r.failed.Load(),
		Duration: r.cfg.Duration, TargetRate: r.cfg.Rate}
	if el > 0 {
		p.AtRate = float64(p.Completed) / el.Seconds()
	}
	return p
}

func (r *run) result(connected int) *Result {
	el := time.Since(r.start)
	res := &Result{
		Servers: r.cfg.Servers, Pairs: r.cfg.Pairs, Connected: connected, Media: r.cfg.Media.String(),
		Record: r.cfg.Record, Target: r.cfg.Rate, Elapsed: el.Seconds(),
		Started: int(r.started.Load()), Completed: int(r.done.Load()), ServerCPU: -1,
	}
	if connected == 0 {
		res.Elapsed = 0
	}
	if res.Elapsed > 0 {
		res.Rate = float64(res.Completed) / res.Elapsed
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	res.Failures = r.failures
	res.Latency.InviteRing = r.inviteRing.Summary()
	res.Latency.EndEnded = r.ended.Summary()
	if r.cfg.Media != MediaNone {
		s := r.first.Summary()
		res.Latency.AcceptFirst = &s
	}
	return res
}

// FailureKeys returns the failure keys in order, for printing.
func (r *Result) FailureKeys() []string {
	keys := make([]string, 0, len(r.Failures))
	for k := range r.Failures {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// userName is the name of pair i's side ("a" calls "b").
func userName(prefix string, i int, side string) string {
	return strings.ToLower(fmt.Sprintf("%s%d%s", prefix, i, side))
}

// The codec a first frame is counted in.
func counterFor(m Media) *media.FrameCounter {
	if m == MediaVideo {
		return media.NewFrameCounter(media.CodecVP8, nil)
	}
	return media.NewFrameCounter(media.CodecOpus, nil)
}
