package protocol

import "fmt"

// CallType is the kind of call: the seed's EMCallType.
type CallType int

// Call types, numbered as the seed numbers them.
const (
	CallVoice CallType = 0
	CallVideo CallType = 1
)

func (t CallType) String() string {
	switch t {
	case CallVoice:
		return "voice"
	case CallVideo:
		return "video"
	}
	return fmt.Sprintf("CallType(%d)", int(t))
}

// Valid reports whether t is a known call type.
func (t CallType) Valid() bool { return t == CallVoice || t == CallVideo }

// CallStatus is a session's status: the seed's EMCallSessionStatus. Values only increase during
// a call until it ends; 1 is deliberately unused, as in the seed.
type CallStatus int

// Call statuses, numbered as the seed numbers them.
const (
	StatusDisconnected CallStatus = 0
	StatusConnecting   CallStatus = 2
	StatusConnected    CallStatus = 3
	StatusAccepted     CallStatus = 4
)

func (s CallStatus) String() string {
	switch s {
	case StatusDisconnected:
		return "disconnected"
	case StatusConnecting:
		return "connecting"
	case StatusConnected:
		return "connected"
	case StatusAccepted:
		return "accepted"
	}
	return fmt.Sprintf("CallStatus(%d)", int(s))
}

// EndReason says why a call ended: the seed's EMCallEndReason, plus duet's additions from 10 on.
type EndReason int

// End reasons. 0–9 and 101–103 are the seed's; 10 and 11 are duet's (docs/PROTOCOL.md).
const (
	EndHangup            EndReason = 0
	EndNoResponse        EndReason = 1
	EndDecline           EndReason = 2
	EndBusy              EndReason = 3
	EndFailed            EndReason = 4
	EndUnsupported       EndReason = 5
	EndRemoteOffline     EndReason = 6
	EndLoginOtherDevice  EndReason = 7
	EndDestroy           EndReason = 8
	EndBeenKicked        EndReason = 9
	EndAnsweredElsewhere EndReason = 10
	// EndTokenRevoked is the kick reason of a device whose token was revoked (logout,
	// password change): it must log in again.
	EndTokenRevoked      EndReason = 11
	EndNotEnable         EndReason = 101
	EndServiceArrearages EndReason = 102
	EndServiceForbidden  EndReason = 103
)

var endReasonNames = map[EndReason]string{
	EndHangup: "hangup", EndNoResponse: "no-response", EndDecline: "decline", EndBusy: "busy",
	EndFailed: "failed", EndUnsupported: "unsupported", EndRemoteOffline: "remote-offline",
	EndLoginOtherDevice: "login-other-device", EndDestroy: "destroy", EndBeenKicked: "been-kicked",
	EndAnsweredElsewhere: "answered-elsewhere", EndTokenRevoked: "token-revoked", EndNotEnable: "not-enable",
	EndServiceArrearages: "service-arrearages", EndServiceForbidden: "service-forbidden",
}

func (r EndReason) String() string {
	if s, ok := endReasonNames[r]; ok {
		return s
	}
	return fmt.Sprintf("EndReason(%d)", int(r))
}

// Valid reports whether r is a known end reason.
func (r EndReason) Valid() bool { _, ok := endReasonNames[r]; return ok }

// ClientEndReason reports whether a client may end a call with r. The others are decided by
// the server (no response, busy, offline, answered elsewhere...).
func (r EndReason) ClientEndReason() bool {
	switch r {
	case EndHangup, EndDecline, EndBusy, EndFailed, EndUnsupported, EndNoResponse:
		return true
	}
	return false
}

// ConnectType is how media flows: the seed's EMCallConnectType.
type ConnectType int

// Connect types, numbered as the seed numbers them.
const (
	ConnectNone   ConnectType = 0
	ConnectDirect ConnectType = 1
	ConnectRelay  ConnectType = 2
)

func (c ConnectType) String() string {
	switch c {
	case ConnectNone:
		return "none"
	case ConnectDirect:
		return "direct"
	case ConnectRelay:
		return "relay"
	}
	return fmt.Sprintf("ConnectType(%d)", int(c))
}

// StreamStatus is a pause or resume of one stream: the seed's EMCallStreamingStatus.
type StreamStatus int

// Stream statuses, numbered as the seed numbers them.
const (
	StreamVoicePause  StreamStatus = 0
	StreamVoiceResume StreamStatus = 1
	StreamVideoPause  StreamStatus = 2
	StreamVideoResume StreamStatus = 3
)

func (s StreamStatus) String() string {
	switch s {
	case StreamVoicePause:
		return "voice-pause"
	case StreamVoiceResume:
		return "voice-resume"
	case StreamVideoPause:
		return "video-pause"
	case StreamVideoResume:
		return "video-resume"
	}
	return fmt.Sprintf("StreamStatus(%d)", int(s))
}

// Valid reports whether s is a known stream status.
func (s StreamStatus) Valid() bool { return s >= StreamVoicePause && s <= StreamVideoResume }

// NetworkStatus is the quality of a call's network: the seed's EMCallNetworkStatus.
type NetworkStatus int

// Network statuses, numbered as the seed numbers them.
const (
	NetworkNormal   NetworkStatus = 0
	NetworkUnstable NetworkStatus = 1
	NetworkNoData   NetworkStatus = 2
)

func (s NetworkStatus) String() string {
	switch s {
	case NetworkNormal:
		return "normal"
	case NetworkUnstable:
		return "unstable"
	case NetworkNoData:
		return "no-data"
	}
	return fmt.Sprintf("NetworkStatus(%d)", int(s))
}
