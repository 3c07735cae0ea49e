package relay

import (
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/pion/interceptor"
	"github.com/pion/webrtc/v4"

	"github.com/duet-rtc/duet/internal/codecs"
	"github.com/duet-rtc/duet/protocol"
)

// The baseline the relay is measured against: a forwarder written the way pion's examples
// and a fresh pion SFU do it — one PeerConnection per leg with pion's default interceptors
// (NACK, RTCP reports, TWCC), each remote track read with ReadRTP and written to the other
// party's TrackLocalStaticRTP. It records nothing. It serves the saturation generator's
// POST /offer and GET /stats like serveRelayProc (DUET_RELAY_BASELINE=pion), so that both
// run under the same load in one benchmark run.

// pionForwarder is the baseline's state: the legs of each call by side.
type pionForwarder struct {
	api     *webrtc.API
	mu      sync.Mutex
	legs    map[string]map[Side]*pionLeg
	in, out atomic.Uint64
}

// pionLeg is one party's PeerConnection and the tracks it sends the other party's media on.
type pionLeg struct {
	pc           *webrtc.PeerConnection
	audio, video *webrtc.TrackLocalStaticRTP
}

func newPionForwarder() (*pionForwarder, error) {
	me := &webrtc.MediaEngine{}
	if err := me.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: codecs.OpusFmtp},
		PayloadType:        codecs.OpusPayloadType,
	}, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, err
	}
	if err := me.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000},
		PayloadType:        codecs.VP8PayloadType,
	}, webrtc.RTPCodecTypeVideo); err != nil {
		return nil, err
	}
	ir := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(me, ir); err != nil {
		return nil, err
	}
	se := webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	// The generator cycles through packets it sealed once (saturation_test.go's ringSize);
	// the relay does not replay-check device RTP (dtls.go), so neither does the baseline.
	se.DisableSRTPReplayProtection(true)
	// The generator is the DTLS client, as browsers are with the relay.
	if err := se.SetAnsweringDTLSRole(webrtc.DTLSRoleServer); err != nil {
		return nil, err
	}
	api := webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se))
	return &pionForwarder{api: api, legs: map[string]map[Side]*pionLeg{}}, nil
}

// offer answers one leg's offer; its remote tracks are forwarded to the other side's leg.
func (f *pionForwarder) offer(o offerReq) (offerResp, error) {
	pc, err := f.api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return offerResp{}, err
	}
	leg := &pionLeg{pc: pc}
	leg.audio, _ = webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "audio", o.Device)
	leg.video, _ = webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "video", o.Device)
	for _, t := range []*webrtc.TrackLocalStaticRTP{leg.audio, leg.video} {
		sender, err := pc.AddTrack(t)
		if err != nil {
			return offerResp{}, err
		}
		go drainRTCP(sender)
	}
	pc.OnTrack(func(remote *webrtc.TrackRemote, _ *webrtc.RTPReceiver) { f.forward(o.Call, o.Side, remote) })
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: o.SDP}); err != nil {
		return offerResp{}, err
	}
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		return offerResp{}, err
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(answer); err != nil {
		return offerResp{}, err
	}
	<-gathered
	f.mu.Lock()
	if f.legs[o.Call] == nil {
		f.legs[o.Call] = map[Side]*pionLeg{}
	}
	f.legs[o.Call][o.Side] = leg
	f.mu.Unlock()
	sdp := pc.LocalDescription().SDP
	var cands []protocol.ICECandidate
	for _, line := range strings.Split(sdp, "\r\n") {
		if c, ok := strings.CutPrefix(line, "a=candidate:"); ok {
			cands = append(cands, protocol.ICECandidate{Candidate: "candidate:" + c})
		}
	}
	return offerResp{SDP: sdp, Candidates: cands}, nil
}

// forward reads a party's track and writes every packet to the other party's track of the
// same kind, as pion's broadcast and SFU examples do.
func (f *pionForwarder) forward(call string, side Side, remote *webrtc.TrackRemote) {
	other := Callee
	if side == Callee {
		other = Caller
	}
	buf := make([]byte, 1500)
	for {
		n, _, err := remote.Read(buf)
		if err != nil {
			return
		}
		f.in.Add(1)
		f.mu.Lock()
		to := f.legs[call][other]
		f.mu.Unlock()
		if to == nil {
			continue
		}
		out := to.audio
		if remote.Kind() == webrtc.RTPCodecTypeVideo {
			out = to.video
		}
		if _, err := out.Write(buf[:n]); err != nil && !errors.Is(err, io.ErrClosedPipe) {
			continue
		}
		f.out.Add(1)
	}
}

// drainRTCP reads a sender's RTCP so that its interceptors run, as pion's examples do.
func drainRTCP(s *webrtc.RTPSender) {
	buf := make([]byte, 1500)
	for {
		if _, _, err := s.Read(buf); err != nil {
			return
		}
	}
}

func (f *pionForwarder) close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, legs := range f.legs {
		for _, l := range legs {
			_ = l.pc.Close()
		}
	}
}

// pionRoutes serves the baseline's POST /offer and GET /stats.
func (f *pionForwarder) routes(mux *http.ServeMux) {
	mux.HandleFunc("POST /offer", func(w http.ResponseWriter, req *http.Request) {
		var o offerReq
		if err := json.NewDecoder(req.Body).Decode(&o); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		resp, err := f.offer(o)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		_ = json.NewEncoder(w).Encode(resp)
	})
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(Stats{PacketsIn: f.in.Load(), PacketsOut: f.out.Load()})
	})
}
