// Package recorder writes one party's media of a call to a WebM file as it arrives: Opus
// audio and VP8 video from RTP, reordered and reassembled into frames by pion's sample
// builder, timestamped on one timeline, and muxed by ebml-go with a SeekHead and Cues.
//
// The file is written incrementally: data reaches the disk every FlushInterval, and the
// Duration in the header is brought up to date at each flush, so a file cut short by a
// crash plays up to its last flush and says how long it is. Cues (the seek index) and the
// exact Duration are written at Close.
//
// Timeline: timestamp 0 is the arrival of the stream's first packet (Info.Start, the server's
// wall clock); each kind is placed by its own first arrival plus its RTP clock from there,
// re-anchored to arrival if the two drift more than a second apart (a sender whose clock
// jumped). The first RTP timestamps and the senders' first NTP↔RTP mappings are kept in
// Info for finer alignment.
//
// Threading: WriteRTP and SenderReport may be called from any goroutine and never block on
// the disk: they queue a copy. One goroutine, shared by every open Stream, takes the queues
// 50 times a second and does the work (see drainLoop). A full queue drops packets (counted
// in Info.Dropped) rather than holding up the caller.
package recorder

import (
	"encoding/binary"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/at-wat/ebml-go/mkvcore"
	"github.com/at-wat/ebml-go/webm"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4/pkg/media/samplebuilder"
)

// Options shape a Stream.
type Options struct {
	// Audio and Video are the kinds the call carries. A video stream's file starts at the
	// first VP8 keyframe (its header needs the picture size); audio before it is held, up
	// to WaitForVideo, after which the file starts without waiting any longer.
	Audio, Video bool
	// FlushInterval is how often data reaches the file and the header's Duration is
	// updated; default 500 ms.
	FlushInterval time.Duration
	// WaitForVideo bounds how long a video stream's file waits for the first keyframe;
	// default 3 s.
	WaitForVideo time.Duration
	// QueueSize is how many packets may wait for the writer; default 4096.
	QueueSize int
	// Logger receives warnings; nil discards them.
	Logger *slog.Logger
}

// Info describes a finished (or running) recording.
type Info struct {
	Path string
	// Start is the server time of timestamp 0: when the stream's first packet arrived.
	Start time.Time
	// Duration is the last frame's timestamp.
	Duration time.Duration
	// Size is the file's size in bytes.
	Size int64
	// Audio and Video report which tracks the file has.
	Audio, Video bool
	// Width and Height are the picture size of the first keyframe.
	Width, Height int
	// AudioFrames and VideoFrames count the frames written.
	AudioFrames, VideoFrames int
	// Dropped counts packets lost to a full queue.
	Dropped int
	// FirstRTP is the first RTP timestamp per kind (audio, video); FirstAt when it arrived.
	FirstRTP [2]uint32
	FirstAt  [2]time.Time
	// SenderNTP and SenderRTP are the first sender report's mapping per kind (0: none came).
	SenderNTP [2]uint64
	SenderRTP [2]uint32
}

const (
	kindAudio = 0
	kindVideo = 1
)

var clockRates = [2]float64{48000, 90000}

// Stream records one party.
type Stream struct {
	path string
	opts Options
	log  *slog.Logger

	queue chan item

	wmu       sync.Mutex // held while the writer works
	w         *writer
	nextFlush time.Time
	finished  bool

	mu      sync.Mutex
	dropped int
	closed  bool
	info    Info
	err     error
}

type item struct {
	kind int
	pkt  *rtp.Packet
	sr   *rtcp.SenderReport
	at   time.Time
}

// New starts recording to path (created when the first frame is ready; it must not exist).
func New(path string, opts Options) *Stream {
	if opts.FlushInterval <= 0 {
		opts.FlushInterval = 500 * time.Millisecond
	}
	if opts.WaitForVideo <= 0 {
		opts.WaitForVideo = 3 * time.Second
	}
	if opts.QueueSize <= 0 {
		opts.QueueSize = 4096
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Stream{path: path, opts: opts, log: log, queue: make(chan item, opts.QueueSize)}
	s.info.Path = path
	s.w = newWriter(s)
	s.nextFlush = time.Now().Add(opts.FlushInterval)
	drains.add(s)
	return s
}

// WriteRTP queues a copy of pkt, of video (true) or audio, that arrived at at.
func (s *Stream) WriteRTP(video bool, pkt *rtp.Packet, at time.Time) {
	k := kindAudio
	if video {
		k = kindVideo
	}
	// Padding-only packets (browsers probe bandwidth with them) go in too: the sample
	// builder drops them itself, and without them it would see gaps in the sequence numbers
	// and wait for packets that never come, dropping the frames around them.
	if (k == kindVideo && !s.opts.Video) || (k == kindAudio && !s.opts.Audio) {
		return
	}
	cp := packetPool.Get().(*rtp.Packet)
	payload := append(cp.Payload[:0], pkt.Payload...)
	*cp = rtp.Packet{Header: pkt.Header, Payload: payload}
	cp.Header.Extensions = nil
	cp.Header.Extension = false
	cp.Header.CSRC = nil
	if !s.enqueue(item{kind: k, pkt: cp, at: at}) {
		packetPool.Put(cp)
	}
}

// packetPool recycles the packets queued for the writer: the sample builder hands them
// back (WithPacketReleaseHandler) once their frame is built or dropped.
var packetPool = sync.Pool{New: func() any { return &rtp.Packet{Payload: make([]byte, 0, 1500)} }}

func releasePacket(p *rtp.Packet) { packetPool.Put(p) }

// SenderReport queues a sender report about video (true) or audio.
func (s *Stream) SenderReport(video bool, sr *rtcp.SenderReport, at time.Time) {
	k := kindAudio
	if video {
		k = kindVideo
	}
	cp := *sr
	cp.Reports, cp.ProfileExtensions = nil, nil
	s.enqueue(item{kind: k, sr: &cp, at: at})
}

// enqueue queues it unless the stream is closed or the queue is full, and reports whether
// it did.
func (s *Stream) enqueue(it item) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	select {
	case s.queue <- it:
		return true
	default:
		s.dropped++
		return false
	}
}

// Close writes what is queued, finishes the file (Cues, Duration) and returns its Info.
// The error is errNoMedia-like when nothing was recorded (then there is no file). Close is
// idempotent.
func (s *Stream) Close() (Info, error) {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	drains.remove(s)
	s.wmu.Lock()
	if !s.finished {
		s.finished = true
		s.w.drain()
		s.w.finish()
	}
	s.wmu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	info := s.info
	info.Dropped += s.dropped
	return info, s.err
}

// Path is the file the stream writes.
func (s *Stream) Path() string { return s.path }

// track is the per-kind state of the writer goroutine.
type track struct {
	sb        *samplebuilder.SampleBuilder
	started   bool
	ts0       uint32 // first RTP timestamp
	lastTS    uint32 // last sample's RTP timestamp
	ext       int64  // extended RTP ticks since ts0 of the last sample
	anchor    time.Duration
	lastMS    int64
	lastAt    time.Time // arrival of the latest packet pushed
	pads      padMap    // padding packets taken out of the sequence numbers
	w         webm.BlockWriteCloser
	keyframed bool // video: a keyframe has been written
}

// pendingFrame is an audio frame held until the file can start.
type pendingFrame struct {
	ms   int64
	data []byte
}

func newWriter(s *Stream) *writer {
	w := &writer{s: s}
	release := samplebuilder.WithPacketReleaseHandler(releasePacket)
	w.tracks[kindAudio].sb = samplebuilder.New(64, &codecs.OpusPacket{}, 48000, release)
	w.tracks[kindVideo].sb = samplebuilder.New(512, &codecs.VP8Packet{}, 90000, release)
	return w
}

// tick takes what is queued and flushes when the stream's flush is due.
func (s *Stream) tick(now time.Time) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.finished {
		return
	}
	s.w.drain()
	if !now.Before(s.nextFlush) {
		s.w.flush()
		s.nextFlush = now.Add(s.opts.FlushInterval)
	}
}

// drainInterval is how often the queues are taken.
const drainInterval = 20 * time.Millisecond

// drainLoop ticks every open Stream from one goroutine, which runs while any Stream is
// open. The queues are taken on a ticker rather than packet by packet, and all of them on
// one: a packet then costs its sender a channel send that wakes nobody, and the process
// wakes 50 times a second for all its recordings, not 50 times a second for each (on a
// server with many calls, a wake-up costs more than the work it does).
type drainLoop struct {
	mu      sync.Mutex
	streams map[*Stream]struct{}
	stop    chan struct{}
	done    chan struct{}
}

var drains = &drainLoop{streams: map[*Stream]struct{}{}}

func (d *drainLoop) add(s *Stream) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.streams[s] = struct{}{}
	if d.stop == nil {
		d.stop, d.done = make(chan struct{}), make(chan struct{})
		go d.run(d.stop, d.done)
	}
}

// remove forgets s; the last one stops the goroutine and waits for it.
func (d *drainLoop) remove(s *Stream) {
	d.mu.Lock()
	delete(d.streams, s)
	var done chan struct{}
	if len(d.streams) == 0 && d.stop != nil {
		close(d.stop)
		done = d.done
		d.stop, d.done = nil, nil
	}
	d.mu.Unlock()
	if done != nil {
		<-done
	}
}

func (d *drainLoop) run(stop, done chan struct{}) {
	defer close(done)
	tick := time.NewTicker(drainInterval)
	defer tick.Stop()
	var batch []*Stream
	for {
		select {
		case now := <-tick.C:
			d.mu.Lock()
			batch = batch[:0]
			for s := range d.streams {
				batch = append(batch, s)
			}
			d.mu.Unlock()
			for _, s := range batch {
				s.tick(now)
			}
			clear(batch)
		case <-stop:
			return
		}
	}
}

func (w *writer) drain() {
	for {
		select {
		case it := <-w.s.queue:
			w.handle(it)
		default:
			return
		}
	}
}

// writer builds the file; it runs under its Stream's wmu.
type writer struct {
	s       *Stream
	tracks  [2]track
	start   time.Time
	sink    *fileSink
	pending []pendingFrame
	order   []frame // frames waiting to be written in timestamp order
	newest  int64
	failed  bool
	maxMS   int64
}

func (w *writer) handle(it item) {
	if w.failed {
		return
	}
	if it.sr != nil {
		w.s.mu.Lock()
		if w.s.info.SenderNTP[it.kind] == 0 {
			w.s.info.SenderNTP[it.kind] = it.sr.NTPTime
			w.s.info.SenderRTP[it.kind] = it.sr.RTPTime
		}
		w.s.mu.Unlock()
		return
	}
	if w.start.IsZero() {
		w.start = it.at
		w.s.mu.Lock()
		w.s.info.Start = it.at
		w.s.mu.Unlock()
	}
	t := &w.tracks[it.kind]
	if !t.started {
		t.started = true
		t.ts0, t.lastTS = it.pkt.Timestamp, it.pkt.Timestamp
		t.anchor = it.at.Sub(w.start)
		w.s.mu.Lock()
		w.s.info.FirstRTP[it.kind], w.s.info.FirstAt[it.kind] = it.pkt.Timestamp, it.at
		w.s.mu.Unlock()
	}
	t.lastAt = it.at
	if len(it.pkt.Payload) == 0 {
		t.pads.padding(it.pkt.SequenceNumber) // no media: leave it out, close its gap
		releasePacket(it.pkt)
		return
	}
	it.pkt.SequenceNumber = t.pads.mapSeq(it.pkt.SequenceNumber)
	t.sb.Push(it.pkt)
	w.popAll(it.kind, 0)
	if w.sink == nil && w.s.opts.Video && !w.start.IsZero() && it.at.Sub(w.start) > w.s.opts.WaitForVideo {
		w.open(0, 0) // no keyframe in time: start without waiting any longer
	}
}

// popAll takes every ready sample of kind from its builder; extra adds tries past a nil
// (at the end of the stream, where Pop may return nil for a frame it dropped).
func (w *writer) popAll(kind, extra int) {
	t := &w.tracks[kind]
	for {
		if smp := t.sb.Pop(); smp != nil {
			w.sample(kind, smp.Data, smp.PacketTimestamp)
			continue
		}
		if extra == 0 {
			return
		}
		extra--
	}
}

// padMap takes padding-only packets (browsers probe bandwidth with them) out of a stream's
// sequence numbers before the sample builder, which otherwise stalls on them: a media
// packet's sequence number is lowered by the number of padding packets below it. Known
// padding numbers are kept for a window, so late media packets (retransmissions) map as
// they would have.
type padMap struct {
	started bool
	last    int64   // highest extended sequence number seen
	pads    []int64 // extended numbers of padding packets in the window, sorted
	below   int64   // padding packets older than the window
}

const padWindow = 4096

func (m *padMap) ext(seq uint16) int64 {
	if !m.started {
		m.started, m.last = true, int64(seq)+1<<16 // room below for early reordering
		return m.last
	}
	e := m.last + int64(int16(seq-uint16(m.last)))
	m.last = max(m.last, e)
	return e
}

func (m *padMap) padding(seq uint16) {
	e := m.ext(seq)
	i := sort.Search(len(m.pads), func(i int) bool { return m.pads[i] >= e })
	if i < len(m.pads) && m.pads[i] == e {
		return
	}
	m.pads = slices.Insert(m.pads, i, e)
	n := 0
	for n < len(m.pads) && m.pads[n] < m.last-padWindow {
		n++
	}
	m.below += int64(n)
	m.pads = m.pads[n:]
}

func (m *padMap) mapSeq(seq uint16) uint16 {
	if !m.started && len(m.pads) == 0 {
		m.ext(seq)
		return seq
	}
	e := m.ext(seq)
	n := m.below + int64(sort.Search(len(m.pads), func(i int) bool { return m.pads[i] >= e }))
	return uint16(e - n)
}

// sample places one reassembled frame on the timeline and writes it (or holds it until the
// file starts).
func (w *writer) sample(kind int, data []byte, ts uint32) {
	if len(data) == 0 {
		return
	}
	t := &w.tracks[kind]
	t.ext += int64(int32(ts - t.lastTS))
	t.lastTS = ts
	rtpMS := float64(t.ext) * 1000 / clockRates[kind]
	ms := int64(t.anchor.Seconds()*1000 + rtpMS)
	// A sender whose RTP clock jumped (or stalled) must not drag its track away from the
	// other: re-anchor on arrival when the two disagree by more than a second.
	if arr := t.lastAt.Sub(w.start).Milliseconds(); arr-ms > 1000 || ms-arr > 1000 {
		t.anchor = time.Duration(arr)*time.Millisecond - time.Duration(rtpMS*float64(time.Millisecond))
		ms = arr
	}
	if ms < t.lastMS {
		ms = t.lastMS
	}
	if ms < 0 {
		ms = 0
	}
	t.lastMS = ms
	key := true
	if kind == kindVideo {
		key = len(data) >= 10 && data[0]&0x01 == 0
		if w.sink == nil {
			if !key {
				return
			}
			width, height := int(binary.LittleEndian.Uint16(data[6:8])&0x3fff), int(binary.LittleEndian.Uint16(data[8:10])&0x3fff)
			if !w.open(width, height) {
				return
			}
		}
		if !t.keyframed {
			if !key {
				return // undecodable until the first keyframe
			}
			t.keyframed = true
		}
	}
	if w.sink == nil {
		if kind == kindAudio && !w.s.opts.Video {
			if !w.open(0, 0) {
				return
			}
		} else {
			if len(w.pending) < 1000 {
				w.pending = append(w.pending, pendingFrame{ms, data})
			}
			return
		}
	}
	w.write(kind, key, ms, data)
}

// frame is a frame waiting for interleaving.
type frame struct {
	kind int
	key  bool
	ms   int64
	data []byte
}

// interleaveHold is how long frames wait to be written in timestamp order across tracks:
// the sample builders give a frame out when the next one begins, so video lags audio by
// about a frame interval.
const interleaveHold = 150

// write queues a frame and writes, in timestamp order, every queued frame older than
// interleaveHold behind the newest (ebml-go's own sorter costs three goroutine handoffs per
// frame; this costs none).
func (w *writer) write(kind int, key bool, ms int64, data []byte) {
	f := frame{kind, key, ms, data}
	i := len(w.order)
	w.order = append(w.order, f)
	for i > 0 && w.order[i-1].ms > ms {
		w.order[i] = w.order[i-1]
		i--
	}
	w.order[i] = f
	w.newest = max(w.newest, ms)
	n := 0
	for n < len(w.order) && w.order[n].ms <= w.newest-interleaveHold {
		n++
	}
	w.emit(n)
}

// emit writes the first n queued frames.
func (w *writer) emit(n int) {
	for _, f := range w.order[:n] {
		w.writeNow(f.kind, f.key, f.ms, f.data)
	}
	w.order = append(w.order[:0], w.order[n:]...)
}

func (w *writer) writeNow(kind int, key bool, ms int64, data []byte) {
	t := &w.tracks[kind]
	if t.w == nil {
		return
	}
	if _, err := t.w.Write(key, ms, data); err != nil {
		w.fail(err)
		return
	}
	w.maxMS = max(w.maxMS, ms)
	w.s.mu.Lock()
	if kind == kindVideo {
		w.s.info.VideoFrames++
	} else {
		w.s.info.AudioFrames++
	}
	w.s.mu.Unlock()
}

// open creates the file and the WebM writer. width and height are 0 when video did not
// start in time: the video track is then left out.
func (w *writer) open(width, height int) bool {
	if w.sink != nil {
		return true
	}
	if w.failed {
		return false
	}
	sink, err := newFileSink(w.s.path)
	if err != nil {
		w.fail(err)
		return false
	}
	var entries []webm.TrackEntry
	var kinds []int
	if w.s.opts.Audio {
		entries = append(entries, webm.TrackEntry{
			Name: "Audio", TrackNumber: 1, TrackUID: 1, CodecID: "A_OPUS", TrackType: 2,
			CodecPrivate: opusHead(), SeekPreRoll: 80_000_000,
			Audio: &webm.Audio{SamplingFrequency: 48000, Channels: 2},
		})
		kinds = append(kinds, kindAudio)
	}
	if w.s.opts.Video && width > 0 && height > 0 {
		entries = append(entries, webm.TrackEntry{
			Name: "Video", TrackNumber: 2, TrackUID: 2, CodecID: "V_VP8", TrackType: 1,
			Video: &webm.Video{PixelWidth: uint64(width), PixelHeight: uint64(height)},
		})
		kinds = append(kinds, kindVideo)
	}
	if len(entries) == 0 {
		sink.Close()
		w.fail(errNoMedia)
		return false
	}
	main := entries[len(entries)-1].TrackNumber
	ws, err := webm.NewSimpleBlockWriter(sink, entries,
		mkvcore.WithSegmentInfo(&webm.Info{TimecodeScale: 1_000_000, MuxingApp: "duet", WritingApp: "duet recorder"}),
		mkvcore.WithBlockInterceptor(nil), // write() interleaves
		mkvcore.WithSeekHead(true),
		mkvcore.WithCues(64<<10),
		mkvcore.WithMinMaxClusterDuration(main, 1000, 5000),
		mkvcore.WithOnFatalHandler(func(err error) { w.s.log.Warn("recorder: webm write failed", "path", w.s.path, "err", err) }),
		mkvcore.WithOnErrorHandler(func(err error) { w.s.log.Debug("recorder: frame dropped", "path", w.s.path, "err", err) }),
	)
	if err != nil {
		sink.Close()
		w.fail(err)
		return false
	}
	sink.findDuration()
	w.sink = sink
	for i, k := range kinds {
		w.tracks[k].w = ws[i]
	}
	w.s.mu.Lock()
	w.s.info.Audio = w.s.opts.Audio
	w.s.info.Video = w.tracks[kindVideo].w != nil
	w.s.info.Width, w.s.info.Height = width, height
	w.s.mu.Unlock()
	pending := w.pending
	w.pending = nil
	for _, f := range pending {
		w.write(kindAudio, true, f.ms, f.data)
	}
	return true
}

// opusHead is the Opus identification header WebM carries as CodecPrivate: version 1,
// 2 channels, no pre-skip, 48 kHz, no gain, mapping family 0.
func opusHead() []byte {
	b := []byte("OpusHead\x01\x02\x00\x00\x80\xbb\x00\x00\x00\x00\x00")
	return b
}

func (w *writer) flush() {
	if w.sink == nil {
		return
	}
	if err := w.sink.PatchDuration(float64(w.maxMS)); err != nil {
		w.s.log.Warn("recorder: flush failed", "path", w.s.path, "err", err)
	}
	w.s.mu.Lock()
	w.s.info.Duration = time.Duration(w.maxMS) * time.Millisecond
	w.s.info.Size = w.sink.Size()
	w.s.mu.Unlock()
}

func (w *writer) fail(err error) {
	if w.failed {
		return
	}
	w.failed = true
	w.s.mu.Lock()
	if w.s.err == nil {
		w.s.err = fmt.Errorf("recorder %s: %w", w.s.path, err)
	}
	w.s.mu.Unlock()
}

// finish drains the sample builders, closes the writers (which write the Cues and the final
// Duration) and records the final size.
func (w *writer) finish() {
	for k := range w.tracks {
		t := &w.tracks[k]
		if !t.started {
			continue
		}
		t.sb.Flush()
		w.popAll(k, 64)
	}
	if w.sink == nil && len(w.pending) > 0 && !w.failed {
		w.open(0, 0)
	}
	if w.sink == nil {
		if !w.failed {
			w.fail(errNoMedia)
		}
		return
	}
	w.emit(len(w.order))
	for k := range w.tracks {
		if t := &w.tracks[k]; t.w != nil {
			_ = t.w.Close()
		}
	}
	err := w.sink.Close()
	w.s.mu.Lock()
	defer w.s.mu.Unlock()
	w.s.info.Duration = time.Duration(w.maxMS) * time.Millisecond
	w.s.info.Size = w.sink.Size()
	if err != nil && w.s.err == nil {
		w.s.err = fmt.Errorf("recorder %s: %w", w.s.path, err)
	}
}

// ErrNoMedia is returned by Close when nothing was recorded.
var ErrNoMedia = errNoMedia
