package duet

import (
	"context"
	"sync"
	"time"

	"github.com/duet-rtc/duet/internal/clock"
	"github.com/duet-rtc/duet/internal/rtc"
	"github.com/duet-rtc/duet/media"
	"github.com/duet-rtc/duet/protocol"
)

// CallSession is one call as this device sees it: EMCallSession. Its getters are safe
// from any goroutine.
type CallSession struct {
	m          *CallManager
	callID     string
	localName  string
	remoteName string
	callType   CallType
	isCaller   bool
	ext        string
	willRecord bool
	iceServers []protocol.ICEServer
	opts       CallOptions // as they were when the call started (caller) or rang (callee)

	mu            sync.Mutex
	status        CallStatus
	connectType   ConnectType
	didConnect    bool // CallDidConnect was reported (once per call)
	serverVideoID string
	peers         map[string]*rtc.Peer // by remote device id
	remoteDevice  string               // the peer device once known (callee: the caller's)
	connectedPeer map[string]bool      // peers whose transport is up
	sending       bool
	ended         bool
	acceptedAt    time.Time
	firstRemote   map[string]time.Time // first remote RTP per kind, after accept
	paused        map[StreamStatus]bool
	endedCh       chan struct{}
	graceTimers   []clock.Timer // remote-close grace timers (CallManager.peerFailed)

	sinksOnce            sync.Once // RemoteSinks is asked once per session
	audioSink, videoSink media.Sink

	// Media the SDK feeds (see call_media.go); nil when not in use.
	audioIn  *media.PCMInput   // EnableCustomAudioData
	videoIn  *media.VideoInput // EnableCustomizeVideoData
	videoSrc media.Source      // the video source now sending, for local snapshots
	stats    callStats         // refreshed by the quality loop (call_quality.go)
	network  NetworkStatus
	quality  *qualityLoop
	// firstMediaSent: a quality sample carried the accept-to-first-media time already.
	firstMediaSent bool
}

func newCallSession(m *CallManager, callID, local, remote string, t CallType, isCaller bool, ext string) *CallSession {
	return &CallSession{
		m: m, callID: callID, localName: local, remoteName: remote, callType: t, isCaller: isCaller, ext: ext,
		status: CallStatusConnecting, peers: map[string]*rtc.Peer{}, connectedPeer: map[string]bool{},
		firstRemote: map[string]time.Time{}, paused: map[StreamStatus]bool{}, endedCh: make(chan struct{}),
		stats: unknownStats(), opts: m.CallOptions(),
	}
}

// CallID is the server-assigned call id.
func (s *CallSession) CallID() string { return s.callID }

// LocalName is this user's name.
func (s *CallSession) LocalName() string { return s.localName }

// RemoteName is the other party's name.
func (s *CallSession) RemoteName() string { return s.remoteName }

// Type is voice or video.
func (s *CallSession) Type() CallType { return s.callType }

// IsCaller reports whether this device started the call.
func (s *CallSession) IsCaller() bool { return s.isCaller }

// Ext is the caller's free-form extension string.
func (s *CallSession) Ext() string { return s.ext }

// WillRecord reports whether the server records the call.
func (s *CallSession) WillRecord() bool { return s.willRecord }

// Status is the session status with the seed's numbers.
func (s *CallSession) Status() CallStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.status
}

// ConnectType is Direct or Relay once connected, None before.
func (s *CallSession) ConnectType() ConnectType {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.connectType
}

// ServerVideoID is the id of the server recording, valid from CallDidConnect on.
func (s *CallSession) ServerVideoID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.serverVideoID
}

// Done is closed when the call has ended.
func (s *CallSession) Done() <-chan struct{} { return s.endedCh }

// VideoLatency in ms: the RTCP round trip, as the browser SDK reports it; -1 until known. The statistics getters
// refresh every 2 s while the call sends media, and only with EnableReportQuality.
func (s *CallSession) VideoLatency() int { return s.stat(func(c *callStats) int { return c.latency }) }

// LocalVideoFrameRate is the frames per second sent; -1 until known.
func (s *CallSession) LocalVideoFrameRate() int {
	return s.stat(func(c *callStats) int { return c.localFPS })
}

// RemoteVideoFrameRate is the frames per second received; -1 until known.
func (s *CallSession) RemoteVideoFrameRate() int {
	return s.stat(func(c *callStats) int { return c.remoteFPS })
}

// LocalVideoBitrate is the video sent, in kbps; -1 until known.
func (s *CallSession) LocalVideoBitrate() int {
	return s.stat(func(c *callStats) int { return c.localKbps })
}

// RemoteVideoBitrate is the video received, in kbps; -1 until known.
func (s *CallSession) RemoteVideoBitrate() int {
	return s.stat(func(c *callStats) int { return c.remoteKbps })
}

// LocalVideoLostRateInPercent is the share of the video we send that the peer reports
// lost; -1 until known.
func (s *CallSession) LocalVideoLostRateInPercent() int {
	return s.stat(func(c *callStats) int { return c.localLoss })
}

// RemoteVideoLostRateInPercent is the share of the video sent to us that the network lost
// (before retransmission repairs it); -1 until known.
func (s *CallSession) RemoteVideoLostRateInPercent() int {
	return s.stat(func(c *callStats) int { return c.remoteLoss })
}

// RemoteVideoResolution as width, height of the last received keyframe; (-1, -1) until known.
func (s *CallSession) RemoteVideoResolution() (int, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats.remoteW, s.stats.remoteH
}

// NetworkStatus is the last status CallNetworkDidChange reported (Normal before any).
func (s *CallSession) NetworkStatus() NetworkStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.network
}

// Options returns the call options this call uses: the manager's options when the call
// started (caller) or rang (callee).
func (s *CallSession) Options() CallOptions { return s.opts }

func (s *CallSession) stat(f func(*callStats) int) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return f(&s.stats)
}

// FirstRemoteMedia returns when the first remote RTP of kind ("audio" or "video") arrived
// after accept, and whether it has.
func (s *CallSession) FirstRemoteMedia(kind string) (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.firstRemote[kind]
	return t, ok
}

// AcceptedAt returns when this device saw the call accepted (zero before).
func (s *CallSession) AcceptedAt() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.acceptedAt
}

// PauseVoice stops sending audio and tells the peer (CallStateDidChange VoicePause).
func (s *CallSession) PauseVoice() error { return s.setStream(protocol.StreamVoicePause) }

// ResumeVoice restarts sending audio and tells the peer.
func (s *CallSession) ResumeVoice() error { return s.setStream(protocol.StreamVoiceResume) }

// PauseVideo stops sending video and tells the peer.
func (s *CallSession) PauseVideo() error { return s.setStream(protocol.StreamVideoPause) }

// ResumeVideo restarts sending video, beginning with a keyframe, and tells the peer.
func (s *CallSession) ResumeVideo() error { return s.setStream(protocol.StreamVideoResume) }

// SwitchCameraPosition switches between the front and back video sources configured in
// MediaOptions, without renegotiation. With EnableCustomizeVideoData the application
// supplies the picture, so there is no camera to switch and it returns an error.
func (s *CallSession) SwitchCameraPosition(front bool) error {
	if s.opts.EnableCustomizeVideoData {
		return &Error{Code: protocol.CodeGeneral, Message: "custom video data is enabled: the application supplies the picture"}
	}
	open := s.m.mediaOptions().VideoSource
	if !front {
		open = s.m.mediaOptions().BackVideoSource
	}
	if open == nil {
		return &Error{Code: protocol.CodeGeneral, Message: "no video source configured for that camera"}
	}
	src, err := open(s)
	if err != nil {
		return err
	}
	p := s.activePeer()
	if p == nil {
		src.Close()
		return &Error{Code: protocol.CodeCallInvalidID, Message: "call has no media connection"}
	}
	s.m.configureVideo(s, src)
	if err := p.ReplaceVideoSource(src); err != nil {
		return err
	}
	s.mu.Lock()
	s.videoSrc = src
	s.mu.Unlock()
	return nil
}

func (s *CallSession) setStream(st StreamStatus) error {
	s.mu.Lock()
	if s.ended {
		s.mu.Unlock()
		return &Error{Code: protocol.CodeCallInvalidID, Message: "call has ended"}
	}
	s.paused[st&^1] = st&1 == 0 // pause statuses are even, resumes odd
	p := s.peers[s.remoteDevice]
	sending := s.sending
	s.mu.Unlock()
	if p != nil && sending {
		applyStream(p, st)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return s.m.c.send(ctx, protocol.TypeCallStream, protocol.CallStream{CallID: s.callID, Status: st})
}

func applyStream(p *rtc.Peer, st StreamStatus) {
	switch st {
	case protocol.StreamVoicePause:
		p.PauseAudio()
	case protocol.StreamVoiceResume:
		p.ResumeAudio()
	case protocol.StreamVideoPause:
		p.PauseVideo()
	case protocol.StreamVideoResume:
		p.ResumeVideo()
	}
}

// activePeer returns the peer connection of the call's media, or nil.
func (s *CallSession) activePeer() *rtc.Peer {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peers[s.remoteDevice]
}

// MediaOptions tell the SDK what to send and where received media goes: the Go
// equivalents of the seed's local and remote video views.
type MediaOptions struct {
	// AudioSource opens the audio to send in a call; nil sends Opus silence.
	AudioSource func(s *CallSession) (media.Source, error)
	// VideoSource opens the (front camera) video to send in a video call; nil sends none.
	VideoSource func(s *CallSession) (media.Source, error)
	// BackVideoSource opens the video SwitchCameraPosition(false) switches to.
	BackVideoSource func(s *CallSession) (media.Source, error)
	// RemoteSinks returns where the peer's audio and video go (nil: discarded).
	RemoteSinks func(s *CallSession) (audio, video media.Sink)
}
