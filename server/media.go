package server

import (
	"fmt"
	"path/filepath"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/duet-rtc/duet/protocol"
	"github.com/duet-rtc/duet/server/api"
	"github.com/duet-rtc/duet/server/media/gateway"
	"github.com/duet-rtc/duet/server/media/relay"
	"github.com/duet-rtc/duet/server/recording"
	"github.com/duet-rtc/duet/server/route"
	"github.com/duet-rtc/duet/server/signal"
	"github.com/duet-rtc/duet/server/store"
)

// mediaParts are the pieces of recorded calls: the relay forwards, the recording service
// writes and keeps files, the gateway serves call.media and ties both to the call flow.
type mediaParts struct {
	relay      *relay.Relay
	recordings *recording.Service
	gateway    atomic.Pointer[gateway.Gateway]
}

// startMedia builds the relay and the recording service; the gateway follows once the call
// flow exists (startGateway).
func (s *Server) startMedia() error {
	cfg := s.cfg
	r, err := relay.New(relay.Config{
		LoopbackOnly: cfg.MediaLoopbackOnly, IPFilter: cfg.ICEIPFilter,
		PortMin: cfg.RelayPortMin, PortMax: cfg.RelayPortMax, PublicIPs: cfg.RelayPublicIPs,
		Readers: cfg.RelayReaders, Logger: cfg.Logger.With("part", "relay"),
	})
	if err != nil {
		return err
	}
	dir := cfg.RecordingsDir
	if dir == "" {
		dir = filepath.Join(cfg.DataDir, "recordings")
	} else if err := secureDir(dir); err != nil { // (inside the data folder it is done)
		r.Close()
		return fmt.Errorf("recordings: %w", err)
	}
	rec, err := recording.New(s.store, recording.Config{
		Dir: dir, NoRecovery: cfg.clustered(), Retention: cfg.RecordingRetention, FFmpeg: cfg.FFmpeg, Clock: cfg.Clock,
		Logger: cfg.Logger.With("part", "recording"),
	})
	if err != nil {
		r.Close()
		return fmt.Errorf("recordings: %w", err)
	}
	s.media = &mediaParts{relay: r, recordings: rec}
	s.registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "duet_relay_calls", Help: "Recorded calls whose media goes through the relay.",
	}, func() float64 { return float64(r.Stats().Calls) }))
	s.registry.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "duet_relay_packets_forwarded_total", Help: "RTP packets the relay forwarded.",
	}, func() float64 { return float64(r.Stats().PacketsOut) }))
	return nil
}

// startGateway connects the relay to the call flow and the hub.
func (s *Server) startGateway(calls gateway.Calls, hub route.Sender) {
	s.media.gateway.Store(gateway.New(gateway.Config{
		Relay: s.media.relay, Recordings: s.media.recordings, Calls: calls, Sender: hub,
		Logger: s.cfg.Logger.With("part", "gateway"),
	}))
}

// stopMedia ends the media of every recorded call (finishing their files), then the
// recording service (its janitor and merges).
func (s *Server) stopMedia() {
	if s.media == nil {
		return
	}
	if g := s.media.gateway.Load(); g != nil {
		g.Close()
	}
	s.media.relay.Close()
	s.media.recordings.Close()
}

// recordingRoutes mounts the recording REST endpoints.
func (s *Server) recordingRoutes(a *api.API) {
	if s.cluster != nil {
		a.RecordingRoutes(s.mux, clusterRecordings{s.media.recordings, s.cluster})
		return
	}
	a.RecordingRoutes(s.mux, s.media.recordings)
}

// mediaHandler sends call.media to the gateway and everything else on to the call flow.
type mediaHandler struct {
	signal.Handler
	m *mediaParts
}

func (h mediaHandler) HandleMessage(dev route.Device, env *protocol.Envelope) *protocol.Envelope {
	if env != nil && env.Type == protocol.TypeCallMedia {
		if g := h.m.gateway.Load(); g != nil {
			return g.HandleMessage(dev, env)
		}
	}
	return h.Handler.HandleMessage(dev, env)
}

// withMedia wraps the hub's handler.
func (s *Server) withMedia(h signal.Handler) signal.Handler { return mediaHandler{h, s.media} }

// stampRecording tells the gateway that a call ended (its relay call closes, its files are
// finished) and puts the call's serverVideoId on its record, before the record is stored.
func (s *Server) stampRecording(rec *store.CallRecord) {
	if !rec.Record {
		return
	}
	if g := s.media.gateway.Load(); g != nil {
		rec.ServerVideoID = g.CallEnded(rec.App, rec.ID)
	}
}
