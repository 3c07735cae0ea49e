package protocol

import (
	"bytes"
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
	TypeGoodbye = "goodbye" // s→c, Goodbye: the server is going away; reconnect (after retryAfter)

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
	TypeCallRelay    = "call.relay"    // s→c CallRelay: a recorded call's relay moved to another node: offer the leg again
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
	// Version is the newest version the client speaks; servers that predate Versions
	// accept only their own.
	Version int `json:"version"`
	// Versions lists every version the client speaks (absent: Version alone). The server
	// picks one and names it in Welcome.Version.
	Versions     []int        `json:"versions,omitempty"`
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
	if len(h.Versions) > MaxVersions {
		return NewError(CodeBadMessage, "at most %d versions may be offered", MaxVersions)
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
	// Version is the protocol version the server picked for this connection.
	Version      int    `json:"version"`
	AppKey       string `json:"appKey"`
	Username     string `json:"username"`
	DeviceID     string `json:"deviceId"`
	PingInterval int    `json:"pingInterval"`
	ServerTime   int64  `json:"serverTime"` // unix milliseconds
	// Boot names this run of the server: it changes at every start. A device that sees it
	// change across a reconnect knows the server restarted, so the relay legs of its
	// recorded calls are gone and must be offered again (call.media); direct calls need
	// nothing. Absent from servers that predate it.
	Boot string `json:"boot,omitempty"`
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

// Goodbye tells a device the server is going away and is about to close the connection.
type Goodbye struct {
	// Reason says why, for logs: GoodbyeRestart when the server drains (SIGTERM).
	Reason string `json:"reason"`
	// RetryAfter, in milliseconds, asks the device to reconnect after this long plus a small
	// random spread instead of with its failure backoff, and to keep its calls: the server
	// (or its replacement) resumes them through hello.calls. 0 (absent): reconnect with
	// backoff, as devices that predate the field do. At most MaxRetryAfterMillis.
	RetryAfter int `json:"retryAfter,omitempty"`
}

// Goodbye reasons.
const (
	// GoodbyeRestart: the server is draining for a restart or deploy; another server takes
	// the device back shortly.
	GoodbyeRestart = "server restart"
)

// MaxRetryAfterMillis bounds Goodbye.RetryAfter: a server never asks a device to stay away
// for longer than a minute, and a device does not wait longer on a bad value.
const MaxRetryAfterMillis = 60000

// Check validates a Goodbye.
func (g *Goodbye) Check() error {
	if g.RetryAfter < 0 || g.RetryAfter > MaxRetryAfterMillis {
		return NewError(CodeBadMessage, "retryAfter must be 0-%d milliseconds", MaxRetryAfterMillis)
	}
	return nil
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
	if err := CheckUsername(c.To); err != nil {
		return err
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
	// WarmVideo, beside a description, asks the other device to send warm-up video (black
	// frames, no camera content) while the call rings, so that its encoder and this
	// device's decoder are running when the call is accepted (docs/PROTOCOL.md "Warm-up
	// video"). A device that does not ask gets nothing before accept.
	WarmVideo bool `json:"warmVideo,omitempty"`
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
	if c.WarmVideo && c.Description == nil {
		return NewError(CodeBadMessage, "warmVideo goes with a description")
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

// CallRelay tells a device of a recorded call that the call's relay moved (on a cluster,
// the node that owned the call died or gave it up, and the node that took it over runs the
// relay now): its relay connection is gone, so it offers it again (call.media), as after a
// server restart.
type CallRelay struct {
	CallID string `json:"callId"`
}

// CheckUsername returns CodeUsernameTooLong for a username over MaxUsernameBytes and
// CodeInvalidUsername for any other invalid one, as the error table says.
func CheckUsername(s string) error {
	if len(s) > MaxUsernameBytes {
		return NewError(CodeUsernameTooLong, "username longer than %d bytes", MaxUsernameBytes)
	}
	if !ValidUsername(s) {
		return NewError(CodeInvalidUsername, "username must be 1-%d bytes of [A-Za-z0-9_.-]", MaxUsernameBytes)
	}
	return nil
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

// Text messages and push registration. A device sends chat.send; the server stores the
// message and delivers it as chat.message, in seq order, to every device of the recipient,
// now or when each connects; a device confirms with chat.ack, and the server resends what a
// device has not acknowledged when it reconnects.
const (
	TypeChatSend    = "chat.send"    // c→s ChatSend; reply ChatSent
	TypeChatMessage = "chat.message" // s→c ChatMessage: one message, in seq order per device
	TypeChatAck     = "chat.ack"     // c→s ChatAck: this device holds every message up to a seq
	TypePushBind    = "push.bind"    // c→s PushBind; reply empty
	TypePushUnbind  = "push.unbind"  // c→s PushUnbind; reply empty
)

// Limits of text messages and push registrations.
const (
	MaxMessageTextBytes = 4096 // a message's text, UTF-8
	MaxMessageExtBytes  = 4096 // a message's ext, as encoded JSON
	MaxMessageIDBytes   = 64
	MaxPushTokenBytes   = 512
	// MaxWebPushTokenBytes bounds a webpush token, a PushSubscription's JSON: push
	// services' endpoint URLs run to a few hundred bytes.
	MaxWebPushTokenBytes = 2048
	MaxPushTopicBytes    = 255
)

// Push providers a device can bind a token to.
const (
	PushAPNs    = "apns"    // Apple Push Notification service
	PushFCM     = "fcm"     // Firebase Cloud Messaging (HTTP v1)
	PushWebhook = "webhook" // the app's own push service, reached by a signed HTTP POST
	// PushWebPush is a browser's Push API subscription (RFC 8030, VAPID RFC 8292, payload
	// encryption RFC 8291): the token is the PushSubscription's JSON,
	// {"endpoint":"https://…","keys":{"p256dh":"…","auth":"…"}}.
	PushWebPush = "webpush"
)

// ChatSend sends a text message to a user. ID, when set, is the sender's own id for the
// message: sending the same ID again returns the stored message instead of a second copy,
// so a client may retry after a lost reply.
type ChatSend struct {
	ID   string          `json:"id,omitempty"`
	To   string          `json:"to"`
	Text string          `json:"text"`
	Ext  json.RawMessage `json:"ext,omitempty"` // a JSON object, e.g. {"em_apns_ext": {...}}
}

// Check validates a ChatSend.
func (c *ChatSend) Check() error {
	if err := CheckUsername(c.To); err != nil {
		return err
	}
	if c.ID != "" && !ValidMessageID(c.ID) {
		return NewError(CodeBadMessage, "id must be 1-%d bytes of [A-Za-z0-9_.:-]", MaxMessageIDBytes)
	}
	if len(c.Text) == 0 || len(c.Text) > MaxMessageTextBytes || !utf8.ValidString(c.Text) {
		return NewError(CodeBadMessage, "text must be 1-%d bytes of UTF-8", MaxMessageTextBytes)
	}
	return checkExt(c.Ext)
}

// checkExt accepts an absent ext or a JSON object of at most MaxMessageExtBytes. The strict
// decoder has already made sure it is valid JSON.
func checkExt(ext json.RawMessage) error {
	if len(ext) == 0 || string(ext) == "null" {
		return nil
	}
	if len(ext) > MaxMessageExtBytes {
		return NewError(CodeBadMessage, "ext longer than %d bytes", MaxMessageExtBytes)
	}
	if t := bytes.TrimLeft(ext, " \t\r\n"); len(t) == 0 || t[0] != '{' {
		return NewError(CodeBadMessage, "ext must be a JSON object")
	}
	return nil
}

// ChatSent answers ChatSend.
type ChatSent struct {
	ID        string `json:"id"`
	Timestamp int64  `json:"timestamp"` // unix milliseconds, when the server stored it
}

// ChatMessage delivers one text message. Seq numbers the recipient's messages (1, 2, ...);
// a device receives them in seq order and acknowledges with ChatAck.
type ChatMessage struct {
	ID        string          `json:"id"`
	Seq       int64           `json:"seq"`
	From      string          `json:"from"`
	To        string          `json:"to"`
	Text      string          `json:"text"`
	Ext       json.RawMessage `json:"ext,omitempty"`
	Timestamp int64           `json:"timestamp"` // unix milliseconds
}

// ChatAck tells the server that this device holds every message up to seq UpTo.
type ChatAck struct {
	UpTo int64 `json:"upTo"`
}

// Check validates a ChatAck.
func (c *ChatAck) Check() error {
	if c.UpTo < 0 {
		return NewError(CodeBadMessage, "upTo must not be negative")
	}
	return nil
}

// PushBind registers this device's push token. VoIP marks an APNs PushKit token (calls are
// pushed to it); Topic overrides the app's configured APNs topic (the bundle id).
type PushBind struct {
	Provider string `json:"provider"`
	Token    string `json:"token"`
	VoIP     bool   `json:"voip,omitempty"`
	Topic    string `json:"topic,omitempty"`
}

// Check validates a PushBind.
func (p *PushBind) Check() error {
	if !ValidPushProvider(p.Provider) {
		return NewError(CodeBadMessage, "provider must be apns, fcm, webhook or webpush")
	}
	if p.Provider == PushWebPush {
		if _, err := ParseWebPushSubscription(p.Token); err != nil {
			return err
		}
	} else if !validPushToken(p.Token, MaxPushTokenBytes) {
		return NewError(CodeBadMessage, "token must be 1-%d printable ASCII bytes", MaxPushTokenBytes)
	}
	if p.Provider != PushAPNs && (p.VoIP || p.Topic != "") {
		return NewError(CodeBadMessage, "voip and topic are for apns only")
	}
	if p.Topic != "" && !validTopic(p.Topic) {
		return NewError(CodeBadMessage, "topic must be 1-%d bytes of [A-Za-z0-9_.-]", MaxPushTopicBytes)
	}
	return nil
}

// PushUnbind removes this device's push tokens: those of Provider ("" for all providers),
// only Token when it is set.
type PushUnbind struct {
	Provider string `json:"provider,omitempty"`
	Token    string `json:"token,omitempty"`
}

// Check validates a PushUnbind.
func (p *PushUnbind) Check() error {
	if p.Provider != "" && !ValidPushProvider(p.Provider) {
		return NewError(CodeBadMessage, "provider must be apns, fcm, webhook or webpush")
	}
	if p.Token != "" && !validPushToken(p.Token, MaxWebPushTokenBytes) {
		return NewError(CodeBadMessage, "token must be 1-%d printable ASCII bytes", MaxWebPushTokenBytes)
	}
	return nil
}

// ValidPushProvider reports whether s names a push provider.
func ValidPushProvider(s string) bool {
	return s == PushAPNs || s == PushFCM || s == PushWebhook || s == PushWebPush
}

// ValidMessageID reports whether s is a valid message id: 1-64 bytes of [A-Za-z0-9_.:-].
func ValidMessageID(s string) bool { return ValidDeviceID(s) }

func validPushToken(s string, maxBytes int) bool {
	if len(s) == 0 || len(s) > maxBytes {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

func validTopic(s string) bool {
	if len(s) == 0 || len(s) > MaxPushTopicBytes {
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
