package duet

import "github.com/duet-rtc/duet/protocol"

// CallType is EMCallType: voice or video.
type CallType = protocol.CallType

// Call types.
const (
	CallTypeVoice = protocol.CallVoice
	CallTypeVideo = protocol.CallVideo
)

// CallStatus is EMCallSessionStatus. Values only increase during a call.
type CallStatus = protocol.CallStatus

// Call statuses with the seed's numbers (1 is unused, as in the seed).
const (
	CallStatusDisconnected = protocol.StatusDisconnected
	CallStatusConnecting   = protocol.StatusConnecting
	CallStatusConnected    = protocol.StatusConnected
	CallStatusAccepted     = protocol.StatusAccepted
)

// EndReason is EMCallEndReason.
type EndReason = protocol.EndReason

// End reasons with the seed's numbers; AnsweredElsewhere (10) is duet's addition.
const (
	EndReasonHangup            = protocol.EndHangup
	EndReasonNoResponse        = protocol.EndNoResponse
	EndReasonDecline           = protocol.EndDecline
	EndReasonBusy              = protocol.EndBusy
	EndReasonFailed            = protocol.EndFailed
	EndReasonUnsupported       = protocol.EndUnsupported
	EndReasonRemoteOffline     = protocol.EndRemoteOffline
	EndReasonLoginOtherDevice  = protocol.EndLoginOtherDevice
	EndReasonDestroy           = protocol.EndDestroy
	EndReasonBeenKicked        = protocol.EndBeenKicked
	EndReasonAnsweredElsewhere = protocol.EndAnsweredElsewhere
	EndReasonTokenRevoked      = protocol.EndTokenRevoked
	EndReasonNotEnable         = protocol.EndNotEnable
	EndReasonServiceArrearages = protocol.EndServiceArrearages
	EndReasonServiceForbidden  = protocol.EndServiceForbidden
)

// ConnectType is EMCallConnectType: how media flows.
type ConnectType = protocol.ConnectType

// Connect types.
const (
	ConnectTypeNone   = protocol.ConnectNone
	ConnectTypeDirect = protocol.ConnectDirect
	ConnectTypeRelay  = protocol.ConnectRelay
)

// StreamStatus is EMCallStreamingStatus: the peer paused or resumed a stream.
type StreamStatus = protocol.StreamStatus

// Stream statuses.
const (
	StreamStatusVoicePause  = protocol.StreamVoicePause
	StreamStatusVoiceResume = protocol.StreamVoiceResume
	StreamStatusVideoPause  = protocol.StreamVideoPause
	StreamStatusVideoResume = protocol.StreamVideoResume
)

// NetworkStatus is EMCallNetworkStatus.
type NetworkStatus = protocol.NetworkStatus

// Network statuses.
const (
	NetworkStatusNormal   = protocol.NetworkNormal
	NetworkStatusUnstable = protocol.NetworkUnstable
	NetworkStatusNoData   = protocol.NetworkNoData
)

// ConnectionState is the state of the device connection (EMConnectionState).
type ConnectionState int

// Connection states.
const (
	ConnectionDisconnected ConnectionState = 0
	ConnectionConnected    ConnectionState = 1
)

func (s ConnectionState) String() string {
	if s == ConnectionConnected {
		return "connected"
	}
	return "disconnected"
}
