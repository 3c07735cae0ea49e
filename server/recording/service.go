// Package recording runs a server's cloud recordings: for each recorded call it writes one
// WebM file per party (server/media/recorder) from the media relay's Tap, keeps a
// store.Recording row per file, composes the merged file with ffmpeg after the call when
// asked (mergeStream), and deletes recordings when they expire (a janitor on the injected
// clock). The REST API reads and deletes through Files.
//
// Files live under Config.Dir as SERVERVIDEOID/OWNER-ID.webm and SERVERVIDEOID/merged-ID.webm.
// A recording's row exists from its first frame on (status "recording"), so a server that
// dies mid-call leaves rows that the next start marks "interrupted": their files play up to
// the crash.
package recording

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/duet-rtc/duet/internal/clock"
	"github.com/duet-rtc/duet/server/media/recorder"
	"github.com/duet-rtc/duet/server/store"
)

// Defaults for Config fields left zero.
const (
	DefaultRetention       = 30 * 24 * time.Hour
	DefaultJanitorInterval = time.Hour
	DefaultMergeTimeout    = 30 * time.Minute
)

// Config shapes a Service.
type Config struct {
	// Dir is where recordings are written (created if missing).
	Dir string
	// NoRecovery leaves the rows of recordings in progress alone at start: on a node of a
	// cluster they may be another node's, still being written.
	NoRecovery bool
	// Retention is how long a recording is kept after it ends; default 30 days.
	Retention time.Duration
	// JanitorInterval is how often expired recordings are deleted; default 1 h.
	JanitorInterval time.Duration
	// FFmpeg is the ffmpeg binary for merged recordings: "" looks "ffmpeg" up in PATH,
	// "none" turns merging off (merged recordings then say merge_unavailable).
	FFmpeg string
	// MergeTimeout bounds one merge; default 30 min.
	MergeTimeout time.Duration
	// FlushInterval is how often the per-stream files reach the disk; default 500 ms.
	FlushInterval time.Duration
	// Clock drives the janitor and stamps rows; default the wall clock.
	Clock clock.Clock
	// Logger; default slog.Default().
	Logger *slog.Logger
}

// Service runs the recordings of one server. It is safe for concurrent use.
type Service struct {
	cfg    Config
	st     store.RecordingStore
	log    *slog.Logger
	ffmpeg string // "" when merging is unavailable

	ctx    context.Context // cancelled by Close: stops a running merge
	cancel context.CancelFunc

	mu     sync.Mutex
	calls  map[*Call]struct{}
	closed bool

	merges  chan mergeJob
	wg      sync.WaitGroup // merge worker, janitor, row writes
	janitor clock.Timer
	sweep   chan struct{}
}

// New opens the recordings folder, marks the rows a previous run left "recording" as
// interrupted, queues the merges it left unfinished, and starts the janitor.
func New(st store.RecordingStore, cfg Config) (*Service, error) {
	if cfg.Dir == "" {
		return nil, errors.New("recording: no folder configured")
	}
	if cfg.Retention <= 0 {
		cfg.Retention = DefaultRetention
	}
	if cfg.JanitorInterval <= 0 {
		cfg.JanitorInterval = DefaultJanitorInterval
	}
	if cfg.MergeTimeout <= 0 {
		cfg.MergeTimeout = DefaultMergeTimeout
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("recording: folder: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Service{
		cfg: cfg, st: st, log: cfg.Logger, ctx: ctx, cancel: cancel,
		calls: map[*Call]struct{}{}, merges: make(chan mergeJob, 1024), sweep: make(chan struct{}, 1),
	}
	s.ffmpeg = findFFmpeg(cfg.FFmpeg)
	if !s.cfg.NoRecovery {
		if err := s.recover(); err != nil {
			cancel()
			return nil, err
		}
	}
	s.wg.Add(2)
	go s.mergeWorker()
	go s.janitorLoop()
	s.armJanitor()
	return s, nil
}

func findFFmpeg(cfg string) string {
	switch cfg {
	case "none":
		return ""
	case "":
		cfg = "ffmpeg"
	}
	p, err := exec.LookPath(cfg)
	if err != nil {
		return ""
	}
	return p
}

// CanMerge reports whether merged recordings can be made (ffmpeg was found).
func (s *Service) CanMerge() bool { return s.ffmpeg != "" }

// recover fixes what a previous run left behind: recordings still "recording" became
// interrupted (their files hold what was flushed), and merges still waiting are queued.
func (s *Service) recover() error {
	ctx, cancel := context.WithTimeout(s.ctx, 30*time.Second)
	defer cancel()
	for {
		recs, err := s.st.RecordingsWithStatus(ctx, store.RecordingActive, 100)
		if err != nil {
			return fmt.Errorf("recording: recover: %w", err)
		}
		if len(recs) == 0 {
			break
		}
		for _, r := range recs {
			r.Status = store.RecordingInterrupted
			r.Detail = "the server stopped during the call; the file holds the media up to then"
			if st, err := os.Stat(s.abs(r.File)); err == nil {
				r.Size = st.Size()
				r.End = st.ModTime().UTC()
				r.Duration = r.End.Sub(r.Begin)
			} else {
				r.Status, r.Detail = store.RecordingFailed, "the server stopped before any media was written"
			}
			r.Expires = s.cfg.Clock.Now().Add(s.cfg.Retention)
			if err := s.st.SaveRecording(ctx, r); err != nil {
				return fmt.Errorf("recording: recover: %w", err)
			}
		}
	}
	merging, err := s.st.RecordingsWithStatus(ctx, store.RecordingMerging, 1000)
	if err != nil {
		return fmt.Errorf("recording: recover: %w", err)
	}
	for _, m := range merging {
		parts, _, err := s.st.ListRecordings(ctx, m.App, store.RecordingFilter{ServerVideoID: m.ServerVideoID, RecordType: store.RecordTypeStream, Limit: 100})
		if err != nil {
			return fmt.Errorf("recording: recover: %w", err)
		}
		s.queueMerge(m, parts)
	}
	return nil
}

// abs turns a row's relative file into a path under Dir.
func (s *Service) abs(rel string) string { return filepath.Join(s.cfg.Dir, filepath.FromSlash(rel)) }

// ServerVideoIDOf is the id that names the recordings of call callID of app. It is derived
// from the call, not drawn at random, so that a call recorded again after a server restart
// keeps its serverVideoId and all its recordings are found under it.
func ServerVideoIDOf(app, callID string) string {
	sum := sha256.Sum256([]byte("duet serverVideoId\x00" + app + "\x00" + callID))
	return "rec" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(sum[:16]))
}

func newID() string { return strings.ToLower(rand.Text()) }

// save writes a row off the media path; failures are logged.
func (s *Service) save(r store.Recording) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.st.SaveRecording(ctx, r); err != nil {
		s.log.Error("recording: saving a row failed", "id", r.ID, "status", r.Status, "err", err)
	}
}

// Close stops the janitor and the merge worker (a merge in progress is cancelled and its
// row stays "merging", to be redone at the next start) and finishes every recording still
// open.
func (s *Service) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	calls := make([]*Call, 0, len(s.calls))
	for c := range s.calls {
		calls = append(calls, c)
	}
	if s.janitor != nil {
		s.janitor.Stop()
	}
	s.mu.Unlock()
	for _, c := range calls {
		c.finish(false)
	}
	s.cancel()
	close(s.merges)
	close(s.sweep)
	s.wg.Wait()
}

// Delete removes a recording: its file, then its row.
func (s *Service) Delete(ctx context.Context, r store.Recording) error {
	if r.File != "" {
		if err := os.Remove(s.abs(r.File)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("recording: delete file: %w", err)
		}
		_ = os.Remove(s.abs(r.File) + timingSuffix)
		_ = os.Remove(filepath.Dir(s.abs(r.File))) // the call's folder, once empty
	}
	return s.st.DeleteRecording(ctx, r.App, r.ID)
}

// Open opens a recording's file for download. Only ready, interrupted and (while being
// written) recording files can be opened.
func (s *Service) Open(r store.Recording) (*os.File, error) {
	if r.File == "" {
		return nil, os.ErrNotExist
	}
	return os.Open(s.abs(r.File))
}

// timingSuffix names the file beside each per-stream recording that keeps its alignment
// data: FILE.webm.timing.json.
const timingSuffix = ".timing.json"

// Timing is a per-stream recording's alignment data, kept beside the file as JSON so that
// tools can line the parties up more finely than by their start times: the server time of
// the file's timestamp 0, and per kind (audio, video) the first RTP timestamp with its
// arrival, and the sender's first report (NTP and RTP time; 0 when none came).
type Timing struct {
	Start     time.Time    `json:"start"`
	FirstRTP  [2]uint32    `json:"firstRtp"`
	FirstAt   [2]time.Time `json:"firstAt"`
	SenderNTP [2]uint64    `json:"senderNtp"`
	SenderRTP [2]uint32    `json:"senderRtp"`
}

func (s *Service) writeTiming(rel string, info recorder.Info) {
	b, _ := json.MarshalIndent(Timing{Start: info.Start, FirstRTP: info.FirstRTP, FirstAt: info.FirstAt,
		SenderNTP: info.SenderNTP, SenderRTP: info.SenderRTP}, "", "  ")
	if err := os.WriteFile(s.abs(rel)+timingSuffix, b, 0o600); err != nil {
		s.log.Warn("recording: timing not written", "file", rel, "err", err)
	}
}
