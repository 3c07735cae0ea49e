package protocol

import (
	"encoding/json"
	"strings"
	"unicode/utf8"
)

// Message types. "c→s" goes from a device to the server, "s→c" from the server to a device.
const (
	TypeHello   = "hello"   // c→s, first frame: Hello; reply Welcome
	TypePing    = "ping"    // c→s heartbeat; reply Pong
	TypeReply   = "reply"   // s→c, the answer to a request, same id
	TypeError   = "error"   // s→c, an error not tied to a request
	TypeKicked  = "kicked"  // s→c, Kicked, then the server closes the connection
	TypeGoodbye = "goodbye" // s→c, Goodbye: the server is shutting down; reconnect later

	TypeCallInvite   = "call.invite"   // c→s CallInvite; reply CallInvited
	TypeCallIncoming = "call.incoming" // s→c CallIncoming: ring this device
	TypeCallRinging  = "call.ringing"  // s→c CallRinging: to the caller, one per ringing device
	TypeCallAnswer   = "call.answer"   // c→s CallRef; reply empty
	TypeCallAccepted = "call.accepted" // s→c CallAccepted: to the caller and the answering device
	TypeCallEnd      = "call.end"      // c→s CallEnd; reply empty (idempotent)
	TypeCallEnded    = "call.ended"    // s→c CallEnded
	TypeCallSignal   = "call.signal"   // both ways: CallSignal (SDP or ICE candidate), relayed
	TypeCallConnect  = "call.connect"  // c→s CallConnect: this device's transport is up
	TypeCallStream   = "call.stream"   // both ways: CallStream (pause/resume), relayed to the peer
	TypeCallOffline  = "call.offline"  // s→c CallOffline: callee offline, pushed, still ringing
	TypeCallPeer     = "call.peer"     // s→c CallPeer: the peer's device lost or regained its connection
)

// Limits on field sizes, checked by Check methods.
const (
	MaxUsernameBytes = 64
	MaxDeviceIDBytes = 64
	MaxExtBytes      = 4096
	MaxSDPBytes      = 32 << 10
	MaxCandidate     = 1024
)

// Hello is the first frame on a connection: it authenticates the device.
type Hello struct {
	Version      int          `json:"version"`
	Token        string       `json:"token"`
	DeviceID     string       `json:"deviceId"`
	PingInterval int          `json:"pingInterval,omitempty"` // seconds, default 30, minimum 10
	Capabilities Capabilities `json:"capabilities"`
	// Calls lists the calls the device believes it is in (after a reconnect). The server
	// resumes those it still has and ends the others with call.ended.
	Calls []string `json:"calls,omitempty"`
}

// Capabilities says what calls a device can take; a device without video gets Unsupported.
type Capabilities struct {
	Audio bool `json:"audio"`
	Video bool `json:"video"`
}

// Check validates a Hello.
func (h *Hello) Check() error {
	if h.Token == "" || len(h.Token) > 256 {
		return NewError(CodeInvalidToken, "missing or over-long token")
	}
	if !ValidDeviceID(h.DeviceID) {
		return NewError(CodeBadMessage, "deviceId must be 1-64 bytes of [A-Za-z0-9_.:-]")
	}
	if len(h.Calls) > 8 {
		return NewError(CodeBadMessage, "at most 8 calls may be resumed")
	}
	for _, id := range h.Calls {
		if err := checkCallID(id); err != nil {
			return err
		}
	}
	if h.PingInterval != 0 && (h.PingInterval < 10 || h.PingInterval > 3600) {
		return NewError(CodeBadMessage, "pingInterval must be 10-3600 seconds")
	}
	return nil
}

// Welcome answers Hello.
type Welcome struct {
	Version      int    `json:"version"`
	AppKey       string `json:"appKey"`
	Username     string `json:"username"`
	DeviceID     string `json:"deviceId"`
	PingInterval int    `json:"pingInterval"`
	ServerTime   int64  `json:"serverTime"` // unix milliseconds
}

// Pong answers Ping.
type Pong struct {
	ServerTime int64 `json:"serverTime"` // unix milliseconds
}

// Kicked tells a device why the server is closing it: LoginOtherDevice (7) when another
// connection took the same device id, Destroy (8) when the user was deleted, BeenKicked (9).
type Kicked struct {
	Reason EndReason `json:"reason"`
}

// Goodbye tells a device the server is going away; the device reconnects with backoff.
type Goodbye struct {
	Reason string `json:"reason"`
}

// CallInvite starts a call to a user.
type CallInvite struct {
	To            string   `json:"to"`
	Type          CallType `json:"type"`
	Ext           string   `json:"ext,omitempty"`
	Record        bool     `json:"record,omitempty"`
	MergeStream   bool     `json:"mergeStream,omitempty"`
	PushIfOffline bool     `json:"pushIfOffline,omitempty"`
	OfflineText   string   `json:"offlineText,omitempty"`
}

// Check validates a CallInvite.
func (c *CallInvite) Check() error {
	if !ValidUsername(c.To) {
		return NewError(CodeInvalidUsername, "bad callee username")
	}
	if !c.Type.Valid() {
		return NewError(CodeBadMessage, "unknown call type %d", c.Type)
	}
	if len(c.Ext) > MaxExtBytes || len(c.OfflineText) > MaxExtBytes {
		return NewError(CodeBadMessage, "ext or offlineText longer than %d bytes", MaxExtBytes)
	}
	return nil
}

// ICEServer is one STUN/TURN server for the call, with short-lived credentials.
type ICEServer struct {
	URLs       []string `json:"urls"`
	Username   string   `json:"username,omitempty"`
	Credential string   `json:"credential,omitempty"`
}

// CallInvited answers CallInvite. Glare is true when the invite met an invite from the callee
// ringing this device: the invite then answered that call, and CallID is its id.
type CallInvited struct {
	CallID     string      `json:"callId"`
	ICEServers []ICEServer `json:"iceServers,omitempty"`
	Glare      bool        `json:"glare,omitempty"`
}

// CallIncoming rings one of the callee's devices.
type CallIncoming struct {
	CallID     string      `json:"callId"`
	From       string      `json:"from"`
	FromDevice string      `json:"fromDevice"`
	Type       CallType    `json:"type"`
	Ext        string      `json:"ext,omitempty"`
	Record     bool        `json:"record,omitempty"`
	ICEServers []ICEServer `json:"iceServers,omitempty"`
}

// CallRinging tells the caller that one callee device is ringing. The caller pre-connects
// with each ringing device (one peer connection per device) and keeps the one that answers.
type CallRinging struct {
	CallID string `json:"callId"`
	Device string `json:"device"`
}

// CallRef names a call.
type CallRef struct {
	CallID string `json:"callId"`
}

// Check validates a CallRef.
func (c *CallRef) Check() error { return checkCallID(c.CallID) }

// CallAccepted tells the caller and the answering device that the call is accepted.
type CallAccepted struct {
	CallID string `json:"callId"`
	Device string `json:"device"` // the callee device that answered
}

// CallEnd ends a call (hang up, cancel, decline). Ending an ended call succeeds.
type CallEnd struct {
	CallID string    `json:"callId"`
	Reason EndReason `json:"reason"`
}

// Check validates a CallEnd.
func (c *CallEnd) Check() error {
	if err := checkCallID(c.CallID); err != nil {
		return err
	}
	if !c.Reason.ClientEndReason() {
		return NewError(CodeBadMessage, "a client cannot end a call with reason %d", c.Reason)
	}
	return nil
}

// CallEnded tells a device that a call ended, why, and who ended it ("" for the server).
type CallEnded struct {
	CallID string    `json:"callId"`
	Reason EndReason `json:"reason"`
	By     string    `json:"by,omitempty"`
}

// SessionDescription is an SDP offer or answer.
type SessionDescription struct {
	Type string `json:"type"` // "offer" or "answer"
	SDP  string `json:"sdp"`
}

// ICECandidate is one trickled candidate, as RTCIceCandidateInit.
type ICECandidate struct {
	Candidate     string  `json:"candidate"`
	SDPMid        *string `json:"sdpMid,omitempty"`
	SDPMLineIndex *uint16 `json:"sdpMLineIndex,omitempty"`
}

// CallSignal carries an SDP or a candidate between the two devices of a call. From the caller
// it names the target Device; the server sets Device to the sender's device when relaying.
type CallSignal struct {
	CallID      string              `json:"callId"`
	Device      string              `json:"device,omitempty"`
	Description *SessionDescription `json:"description,omitempty"`
	Candidate   *ICECandidate       `json:"candidate,omitempty"`
}

// Check validates a CallSignal.
func (c *CallSignal) Check() error {
	if err := checkCallID(c.CallID); err != nil {
		return err
	}
	if (c.Description == nil) == (c.Candidate == nil) {
		return NewError(CodeBadMessage, "call.signal carries exactly one of description or candidate")
	}
	if d := c.Description; d != nil {
		if d.Type != "offer" && d.Type != "answer" {
			return NewError(CodeBadMessage, "description type must be offer or answer")
		}
		if len(d.SDP) == 0 || len(d.SDP) > MaxSDPBytes {
			return NewError(CodeBadMessage, "sdp must be 1-%d bytes", MaxSDPBytes)
		}
	}
	if c.Candidate != nil && len(c.Candidate.Candidate) > MaxCandidate {
		return NewError(CodeBadMessage, "candidate longer than %d bytes", MaxCandidate)
	}
	if len(c.Device) > MaxDeviceIDBytes {
		return NewError(CodeBadMessage, "device longer than %d bytes", MaxDeviceIDBytes)
	}
	return nil
}

// CallConnect reports that this device's media transport is up, and how.
type CallConnect struct {
	CallID      string      `json:"callId"`
	ConnectType ConnectType `json:"connectType"`
}

// Check validates a CallConnect.
func (c *CallConnect) Check() error {
	if err := checkCallID(c.CallID); err != nil {
		return err
	}
	if c.ConnectType < ConnectNone || c.ConnectType > ConnectRelay {
		return NewError(CodeBadMessage, "unknown connectType %d", c.ConnectType)
	}
	return nil
}

// CallStream reports a pause or resume of one of the sender's streams.
type CallStream struct {
	CallID string       `json:"callId"`
	Status StreamStatus `json:"status"`
}

// Check validates a CallStream.
func (c *CallStream) Check() error {
	if err := checkCallID(c.CallID); err != nil {
		return err
	}
	if !c.Status.Valid() {
		return NewError(CodeBadMessage, "unknown stream status %d", c.Status)
	}
	return nil
}

// CallOffline tells the caller that the callee has no online device, that a push was sent,
// and that the call keeps ringing until the ring timeout (the seed's callRemoteOffline).
type CallOffline struct {
	CallID string `json:"callId"`
	To     string `json:"to"`
}

// CallPeer tells a device that its peer's connection dropped (Present false: the reconnect
// grace runs) or came back (Present true).
type CallPeer struct {
	CallID  string `json:"callId"`
	Present bool   `json:"present"`
}

// ValidUsername reports whether s is a valid username: 1-64 bytes of [A-Za-z0-9_.-].
func ValidUsername(s string) bool {
	if len(s) == 0 || len(s) > MaxUsernameBytes {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}

// ValidDeviceID reports whether s is a valid device id: 1-64 bytes of [A-Za-z0-9_.:-].
func ValidDeviceID(s string) bool {
	if len(s) == 0 || len(s) > MaxDeviceIDBytes {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == ':' || c == '-') {
			return false
		}
	}
	return true
}

func checkCallID(id string) error {
	if id == "" || len(id) > 64 || !utf8.ValidString(id) {
		return NewError(CodeCallInvalidID, "missing or malformed callId")
	}
	return nil
}

// Raw is a helper for tests and tools: it marshals v, ignoring errors.
func Raw(v any) json.RawMessage { b, _ := json.Marshal(v); return b }

// NormalizeUsername returns the canonical (lower-case) form of a username: usernames are
// case-insensitive.
func NormalizeUsername(s string) string { return strings.ToLower(s) }
