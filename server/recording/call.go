package recording

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"

	"github.com/duet-rtc/duet/server/media/recorder"
	"github.com/duet-rtc/duet/server/media/relay"
	"github.com/duet-rtc/duet/server/store"
)

// CallInfo describes a recorded call.
type CallInfo struct {
	App, CallID, ServerVideoID string
	Parties                    [2]string // usernames by relay.Side: caller, callee
	Video                      bool      // a video call (voice calls record audio only)
	Merge                      bool      // compose a merged recording after the call
}

// Call records one call: a relay.Tap that writes each party's stream.
type Call struct {
	s    *Service
	info CallInfo

	fast     [2]atomic.Pointer[party] // parties[side] once it exists, read without the lock
	resumed  bool                     // the call was recorded before a server restart
	mu       sync.Mutex
	parties  [2]*party
	finished bool
}

type party struct {
	stream *recorder.Stream
	row    store.Recording
}

var _ relay.Tap = (*Call)(nil)

// StartCall begins the recordings of a call. Nothing is written until media arrives. A
// call that already has recordings under its serverVideoId (a server restart interrupted
// them, and the call went on) is resumed: its new recordings say so in their Detail.
func (s *Service) StartCall(info CallInfo) (*Call, error) {
	resumed := s.recordedBefore(info)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, errors.New("recording: service closed")
	}
	if err := os.MkdirAll(s.abs(info.ServerVideoID), 0o700); err != nil {
		return nil, fmt.Errorf("recording: %w", err)
	}
	c := &Call{s: s, info: info, resumed: resumed}
	s.calls[c] = struct{}{}
	return c, nil
}

// RTP implements relay.Tap: the party's stream (and its row) starts with its first packet.
func (c *Call) RTP(side relay.Side, kind relay.Kind, pkt *rtp.Packet, at time.Time) {
	if p := c.party(side, at); p != nil {
		p.stream.WriteRTP(kind == relay.Video, pkt, at)
	}
}

// SenderReport implements relay.Tap.
func (c *Call) SenderReport(side relay.Side, kind relay.Kind, sr *rtcp.SenderReport, at time.Time) {
	if p := c.party(side, at); p != nil {
		p.stream.SenderReport(kind == relay.Video, sr, at)
	}
}

func (c *Call) party(side relay.Side, at time.Time) *party {
	if side != relay.Caller && side != relay.Callee {
		return nil
	}
	if p := c.fast[side].Load(); p != nil {
		return p // a stream closed by Finish ignores what it is given
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.finished {
		return nil
	}
	if p := c.parties[side]; p != nil {
		return p
	}
	id := newID()
	rel := path.Join(c.info.ServerVideoID, c.info.Parties[side]+"-"+id+".webm")
	p := &party{
		stream: recorder.New(c.s.abs(rel), recorder.Options{
			Audio: true, Video: c.info.Video, FlushInterval: c.s.cfg.FlushInterval, Logger: c.s.log,
		}),
		row: store.Recording{
			ID: id, App: c.info.App, ServerVideoID: c.info.ServerVideoID, CallID: c.info.CallID,
			Owner: c.info.Parties[side], RecordType: store.RecordTypeStream, Status: store.RecordingActive,
			File: rel, Begin: at.UTC(), Created: c.s.cfg.Clock.Now().UTC(),
		},
	}
	if c.resumed {
		p.row.Detail = resumedDetail
	}
	c.parties[side] = p
	c.fast[side].Store(p)
	row := p.row
	c.s.wg.Add(1)
	go func() { defer c.s.wg.Done(); c.s.save(row) }()
	return p
}

// Finish ends the call's recordings: the files are completed, their rows say ready (or
// failed), and the merge is queued when the call asked for one. Call it after the relay
// has stopped calling the Tap. It is idempotent.
func (c *Call) Finish() { c.finish(true) }

func (c *Call) finish(merge bool) {
	c.mu.Lock()
	if c.finished {
		c.mu.Unlock()
		return
	}
	c.finished = true
	parties := c.parties
	c.mu.Unlock()
	c.s.mu.Lock()
	delete(c.s.calls, c)
	c.s.mu.Unlock()

	var rows []store.Recording
	for _, p := range parties {
		if p == nil {
			continue
		}
		info, err := p.stream.Close()
		r := p.row
		now := c.s.cfg.Clock.Now().UTC()
		r.Expires = now.Add(c.s.cfg.Retention)
		switch {
		case errors.Is(err, recorder.ErrNoMedia):
			r.Status, r.Detail, r.File = store.RecordingFailed, "no decodable media arrived", ""
		case err != nil && info.Size == 0:
			r.Status, r.Detail = store.RecordingFailed, err.Error()
		default:
			r.Status = store.RecordingReady
			if err != nil {
				r.Detail = err.Error()
			}
		}
		if !info.Start.IsZero() {
			r.Begin = info.Start.UTC()
		}
		r.Duration, r.Size, r.Width, r.Height = info.Duration, info.Size, info.Width, info.Height
		r.End = r.Begin.Add(info.Duration)
		if r.File != "" {
			c.s.writeTiming(r.File, info)
		}
		c.s.save(r)
		if r.Status == store.RecordingReady {
			rows = append(rows, r)
		}
	}
	if !c.info.Merge {
		return
	}
	m := store.Recording{
		ID: newID(), App: c.info.App, ServerVideoID: c.info.ServerVideoID, CallID: c.info.CallID,
		Owner: c.info.Parties[relay.Caller], RecordType: store.RecordTypeMerged, Status: store.RecordingMerging,
		Created: c.s.cfg.Clock.Now().UTC(), Expires: c.s.cfg.Clock.Now().UTC().Add(c.s.cfg.Retention),
	}
	for _, r := range rows {
		if m.Begin.IsZero() || r.Begin.Before(m.Begin) {
			m.Begin = r.Begin
		}
		if r.End.After(m.End) {
			m.End = r.End
		}
	}
	if m.Begin.IsZero() {
		m.Begin = m.Created
	}
	switch {
	case len(rows) == 0:
		m.Status, m.Detail = store.RecordingFailed, "no party was recorded"
	case c.s.ffmpeg == "":
		m.Status = store.RecordingMergeUnavailable
		m.Detail = "ffmpeg is not installed on the server: only the per-stream recordings exist"
	case !merge:
		// The server is closing: the row stays "merging" and the next start makes it.
	}
	c.s.save(m)
	if m.Status == store.RecordingMerging && merge {
		c.s.queueMerge(m, rows)
	}
}

// resumedDetail is the Detail of a recording that goes on after a server restart.
const resumedDetail = "resumed after a server restart: the earlier part of the call is in the interrupted recordings of the same serverVideoId"

// recordedBefore reports whether the call already has per-party recordings: a server
// restart interrupted them and the call is being recorded again.
func (s *Service) recordedBefore(info CallInfo) bool {
	ctx, cancel := context.WithTimeout(s.ctx, 5*time.Second)
	defer cancel()
	recs, _, err := s.st.ListRecordings(ctx, info.App, store.RecordingFilter{
		ServerVideoID: info.ServerVideoID, RecordType: store.RecordTypeStream, Limit: 1})
	if err != nil {
		s.log.Warn("recording: cannot look for earlier recordings of a call", "call", info.CallID, "err", err)
		return false
	}
	return len(recs) > 0
}
