package recording

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/duet-rtc/duet/server/store"
)

// mergeJob composes the per-stream recordings parts into the merged recording m.
type mergeJob struct {
	m     store.Recording
	parts []store.Recording
}

func (s *Service) queueMerge(m store.Recording, parts []store.Recording) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return // the row stays "merging": the next start queues it again
	}
	select {
	case s.merges <- mergeJob{m, parts}:
	default:
		m.Status, m.Detail = store.RecordingFailed, "too many merges waiting"
		s.wg.Add(1)
		go func() { defer s.wg.Done(); s.save(m) }()
	}
}

// mergeWorker runs merges one at a time: ffmpeg uses every core it is given, and a queue
// keeps a burst of ended calls from starving live media.
func (s *Service) mergeWorker() {
	defer s.wg.Done()
	for job := range s.merges {
		if s.ctx.Err() != nil {
			continue // closing: leave the row "merging" for the next start
		}
		m := s.merge(job)
		if s.ctx.Err() != nil && m.Status != store.RecordingReady {
			continue
		}
		s.save(m)
	}
}

// merge runs ffmpeg: the videos side by side (scaled to one height), the audios mixed
// without normalisation, each party placed at its recorded start time.
func (s *Service) merge(job mergeJob) store.Recording {
	m := job.m
	parts := job.parts
	fail := func(format string, args ...any) store.Recording {
		m.Status, m.Detail = store.RecordingFailed, fmt.Sprintf(format, args...)
		s.log.Warn("recording: merge failed", "id", m.ID, "detail", m.Detail)
		return m
	}
	if len(parts) == 0 {
		return fail("no party was recorded")
	}
	sort.SliceStable(parts, func(i, j int) bool { return parts[i].Owner == m.Owner && parts[j].Owner != m.Owner })
	m.Begin, m.End = parts[0].Begin, parts[0].End
	for _, p := range parts[1:] {
		if p.Begin.Before(m.Begin) {
			m.Begin = p.Begin
		}
		if p.End.After(m.End) {
			m.End = p.End
		}
	}
	rel := path.Join(m.ServerVideoID, "merged-"+m.ID+".webm")
	out := s.abs(rel)
	tmp := out + ".part"
	args, width, height := mergeArgs(parts, m.Begin, s.abs, tmp)
	ctx, cancel := context.WithTimeout(s.ctx, s.cfg.MergeTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, s.ffmpeg, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		os.Remove(tmp)
		return fail("ffmpeg: %v: %s", err, lastLine(stderr.String()))
	}
	_ = os.Chmod(tmp, 0o600) // ffmpeg made it with the process umask: recordings are private (the folder is 0700 anyway)
	if err := os.Rename(tmp, out); err != nil {
		os.Remove(tmp)
		return fail("%v", err)
	}
	st, err := os.Stat(out)
	if err != nil {
		return fail("%v", err)
	}
	m.File, m.Size, m.Status, m.Detail = rel, st.Size(), store.RecordingReady, ""
	m.Duration = m.End.Sub(m.Begin)
	m.Width, m.Height = width, height
	if p, err := Probe(ctx, out); err == nil {
		if p.Duration > 0 {
			m.Duration = p.Duration
		}
		if p.Width > 0 {
			m.Width, m.Height = p.Width, p.Height
		}
	}
	s.log.Info("recording: merged", "id", m.ID, "serverVideoId", m.ServerVideoID, "took", time.Since(start).Round(time.Millisecond))
	return m
}

// mergeArgs builds the ffmpeg command line and the expected picture size.
func mergeArgs(parts []store.Recording, begin time.Time, abs func(string) string, out string) (args []string, width, height int) {
	args = []string{"-nostdin", "-y", "-v", "error"}
	for _, p := range parts {
		args = append(args, "-i", abs(p.File))
	}
	for _, p := range parts {
		height = max(height, p.Height)
	}
	height += height % 2
	var filters, vlabels, alabels []string
	for i, p := range parts {
		off := p.Begin.Sub(begin)
		if p.Height > 0 && height > 0 {
			chain := fmt.Sprintf("[%d:v]setpts=PTS-STARTPTS", i)
			if off > 0 {
				chain += fmt.Sprintf(",tpad=start_duration=%.3f:color=black", off.Seconds())
			}
			chain += fmt.Sprintf(",scale=-2:%d,setsar=1[v%d]", height, i)
			filters = append(filters, chain)
			vlabels = append(vlabels, fmt.Sprintf("[v%d]", i))
			w := p.Width * height / p.Height
			width += w + w%2
		}
		chain := fmt.Sprintf("[%d:a]asetpts=PTS-STARTPTS", i)
		if ms := off.Milliseconds(); ms > 0 {
			chain += fmt.Sprintf(",adelay=%d:all=1", ms)
		}
		filters = append(filters, chain+fmt.Sprintf("[a%d]", i))
		alabels = append(alabels, fmt.Sprintf("[a%d]", i))
	}
	switch len(vlabels) {
	case 0:
	case 1:
		filters = append(filters, vlabels[0]+"null[v]")
	default:
		filters = append(filters, strings.Join(vlabels, "")+fmt.Sprintf("hstack=inputs=%d[v]", len(vlabels)))
	}
	if len(alabels) == 1 {
		filters = append(filters, alabels[0]+"anull[a]")
	} else {
		filters = append(filters, strings.Join(alabels, "")+fmt.Sprintf("amix=inputs=%d:normalize=0:duration=longest[a]", len(alabels)))
	}
	args = append(args, "-filter_complex", strings.Join(filters, ";"))
	if len(vlabels) > 0 {
		args = append(args, "-map", "[v]", "-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8",
			"-b:v", "1M", "-threads", "2")
	}
	args = append(args, "-map", "[a]", "-c:a", "libopus", "-b:a", "64k", "-f", "webm", out)
	if len(vlabels) == 0 {
		width, height = 0, 0
	}
	return args, width, height
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	if len(s) > 300 {
		s = s[:300]
	}
	return s
}

// Probed is what ffprobe reports about a media file.
type Probed struct {
	Duration      time.Duration // the container's
	Width, Height int           // of the first video stream
	Codecs        []string      // codec names, in stream order
	// StreamEnd is each stream's end (last packet's pts plus its duration), by codec name.
	StreamEnd map[string]time.Duration
}

// Probe runs ffprobe on path (ffprobe must be installed next to ffmpeg).
func Probe(ctx context.Context, file string) (Probed, error) {
	out, err := exec.CommandContext(ctx, "ffprobe", "-v", "error", "-show_entries",
		"format=duration:stream=index,codec_name,width,height:packet=stream_index,pts_time,duration_time",
		"-of", "json", filepath.Clean(file)).Output()
	if err != nil {
		return Probed{}, fmt.Errorf("ffprobe: %w", err)
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
		return Probed{}, fmt.Errorf("ffprobe output: %w", err)
	}
	p := Probed{StreamEnd: map[string]time.Duration{}}
	if d, err := strconv.ParseFloat(r.Format.Duration, 64); err == nil {
		p.Duration = time.Duration(d * float64(time.Second))
	}
	names := map[int]string{}
	for _, st := range r.Streams {
		p.Codecs = append(p.Codecs, st.CodecName)
		names[st.Index] = st.CodecName
		if st.Width > 0 && p.Width == 0 {
			p.Width, p.Height = st.Width, st.Height
		}
	}
	for _, pk := range r.Packets {
		pts, _ := strconv.ParseFloat(pk.PTS, 64)
		d, _ := strconv.ParseFloat(pk.Duration, 64)
		end := time.Duration((pts + d) * float64(time.Second))
		if end > p.StreamEnd[names[pk.StreamIndex]] {
			p.StreamEnd[names[pk.StreamIndex]] = end
		}
	}
	return p, nil
}
