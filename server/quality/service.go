// Package quality keeps the quality timelines of calls: the samples each party's device
// reports while the call is up (call.quality, docs/PROTOCOL.md), stored per call and summed
// up per party (Summarize, with an audio score by the E-model: MOS) for the REST API and the
// operator's console. Timelines are bounded per device and call, and pruned after Retention.
package quality

import (
	"context"
	"encoding/json"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/duet-rtc/duet/internal/clock"
	"github.com/duet-rtc/duet/protocol"
	"github.com/duet-rtc/duet/server/route"
	"github.com/duet-rtc/duet/server/store"
)

// Defaults of Config fields left zero.
const (
	DefaultRetention = 30 * 24 * time.Hour
	// DefaultMaxSamples bounds one device's timeline of one call: two hours at one sample
	// every two seconds.
	DefaultMaxSamples = 3600
	// maxRead bounds what a report reads of a call.
	maxRead = 4 * DefaultMaxSamples
)

// Config tunes a Service.
type Config struct {
	Store      store.QualityStore
	Clock      clock.Clock  // default clock.Real{}
	Logger     *slog.Logger // default slog.Default()
	Retention  time.Duration
	MaxSamples int
}

// Service stores and reports call quality. Create it with New; stop it with Close.
type Service struct {
	cfg Config

	mu     sync.Mutex
	counts map[countKey]int // samples stored per device and call, since the last prune
	// reported holds the calls with samples, and when the last came (see Reported).
	reported map[callKey]time.Time
	cache    *summaryCache // summaries of calls that ended (Parties)
	timer    clock.Timer
	closed   bool
}

type countKey struct{ app, call, device string }

// New returns a Service and starts its hourly pruning.
func New(cfg Config) *Service {
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Retention <= 0 {
		cfg.Retention = DefaultRetention
	}
	if cfg.MaxSamples <= 0 {
		cfg.MaxSamples = DefaultMaxSamples
	}
	s := &Service{cfg: cfg, counts: map[countKey]int{}, reported: map[callKey]time.Time{}, cache: newSummaryCache(defaultCacheCalls)}
	s.mu.Lock()
	s.timer = cfg.Clock.AfterFunc(time.Minute, s.prune)
	s.mu.Unlock()
	return s
}

// Close stops pruning.
func (s *Service) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	if s.timer != nil {
		s.timer.Stop()
	}
}

func (s *Service) prune() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.timer = s.cfg.Clock.AfterFunc(time.Hour, s.prune)
	clear(s.counts) // timelines of calls long over; a live one starts counting again
	s.forgetQuiet(s.cfg.Clock.Now())
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	n, err := s.cfg.Store.PruneQualitySamples(ctx, s.cfg.Clock.Now().Add(-s.cfg.Retention))
	// Summaries go with their samples, which any node of a cluster may have pruned: every
	// janitor run starts the cache afresh.
	s.cache.clear()
	if err != nil {
		s.cfg.Logger.Error("quality: pruning samples failed", "err", err)
	} else if n > 0 {
		s.cfg.Logger.Debug("quality: pruned samples", "samples", n)
	}
}

// errFull refuses samples beyond a device's bound for a call.
var errFull = protocol.NewError(protocol.CodeBadMessage, "this call's quality timeline is full for this device")

// Add stores a party's samples of a call. The caller has checked that dev is a party of
// the call and that q passed protocol.CallQuality.Check.
func (s *Service) Add(ctx context.Context, dev route.Device, q protocol.CallQuality) error {
	k := countKey{dev.App, q.CallID, dev.ID}
	s.mu.Lock()
	if s.counts[k]+len(q.Samples) > s.cfg.MaxSamples {
		s.mu.Unlock()
		return errFull
	}
	s.counts[k] += len(q.Samples)
	s.reported[callKey{dev.App, q.CallID}] = s.cfg.Clock.Now()
	s.mu.Unlock()
	rows := make([]store.QualitySample, len(q.Samples))
	for i, smp := range q.Samples {
		data, _ := json.Marshal(smp) // plain struct: cannot fail
		rows[i] = store.QualitySample{App: dev.App, CallID: q.CallID, User: dev.User, Device: dev.ID,
			At: time.UnixMilli(smp.At), Data: data}
	}
	if err := s.cfg.Store.AddQualitySamples(ctx, rows); err != nil {
		s.mu.Lock()
		s.counts[k] -= len(q.Samples)
		s.mu.Unlock()
		s.cfg.Logger.Error("quality: storing samples failed", "app", dev.App, "call", q.CallID, "err", err)
		return protocol.NewError(protocol.CodeDatabase, "database error")
	}
	return nil
}

// Report is a call's quality: each reporting party's timeline and summary.
type Report struct {
	CallID  string        `json:"callId"`
	Parties []PartyReport `json:"parties"`
}

// PartyReport is one device's timeline of a call.
type PartyReport struct {
	User    string                   `json:"user"`
	Device  string                   `json:"device"`
	Summary Summary                  `json:"summary"`
	Samples []protocol.QualitySample `json:"samples"`
}

// Report reads a call's samples and sums them up per device, ordered by user, then device.
func (s *Service) Report(ctx context.Context, app, callID string) (Report, error) {
	rows, err := s.cfg.Store.QualitySamples(ctx, app, callID, maxRead)
	if err != nil {
		return Report{}, err
	}
	byDev := map[[2]string]*PartyReport{}
	for _, r := range rows {
		var smp protocol.QualitySample
		if json.Unmarshal(r.Data, &smp) != nil {
			continue
		}
		k := [2]string{r.User, r.Device}
		p := byDev[k]
		if p == nil {
			p = &PartyReport{User: r.User, Device: r.Device}
			byDev[k] = p
		}
		p.Samples = append(p.Samples, smp)
	}
	out := Report{CallID: callID, Parties: []PartyReport{}}
	for _, p := range byDev {
		p.Summary = Summarize(p.Samples)
		out.Parties = append(out.Parties, *p)
	}
	sort.Slice(out.Parties, func(i, j int) bool {
		a, b := out.Parties[i], out.Parties[j]
		return a.User < b.User || (a.User == b.User && a.Device < b.Device)
	})
	return out, nil
}
