package protocol

import (
	"fmt"
	"testing"
)

func TestEnumStrings(t *testing.T) {
	tests := []struct {
		v    fmt.Stringer
		want string
	}{
		{CallVoice, "voice"}, {CallVideo, "video"}, {CallType(7), "CallType(7)"},

		{StatusDisconnected, "disconnected"}, {StatusConnecting, "connecting"}, {StatusConnected, "connected"},
		{StatusAccepted, "accepted"}, {CallStatus(1), "CallStatus(1)"},

		{EndHangup, "hangup"}, {EndNoResponse, "no-response"}, {EndDecline, "decline"}, {EndBusy, "busy"},
		{EndFailed, "failed"}, {EndUnsupported, "unsupported"}, {EndRemoteOffline, "remote-offline"},
		{EndLoginOtherDevice, "login-other-device"}, {EndDestroy, "destroy"}, {EndBeenKicked, "been-kicked"},
		{EndAnsweredElsewhere, "answered-elsewhere"}, {EndNotEnable, "not-enable"},
		{EndServiceArrearages, "service-arrearages"}, {EndServiceForbidden, "service-forbidden"},
		{EndTokenRevoked, "token-revoked"}, {EndReason(12), "EndReason(12)"}, {EndReason(-1), "EndReason(-1)"},

		{ConnectNone, "none"}, {ConnectDirect, "direct"}, {ConnectRelay, "relay"}, {ConnectType(3), "ConnectType(3)"},

		{StreamVoicePause, "voice-pause"}, {StreamVoiceResume, "voice-resume"}, {StreamVideoPause, "video-pause"},
		{StreamVideoResume, "video-resume"}, {StreamStatus(4), "StreamStatus(4)"},

		{NetworkNormal, "normal"}, {NetworkUnstable, "unstable"}, {NetworkNoData, "no-data"},
		{NetworkStatus(3), "NetworkStatus(3)"},
	}
	for _, tc := range tests {
		if got := tc.v.String(); got != tc.want {
			t.Errorf("%T(%v).String() = %q, want %q", tc.v, tc.v, got, tc.want)
		}
	}
}

// The seed's numbers are part of the wire protocol: they must never move.
func TestSeedNumbers(t *testing.T) {
	for _, c := range []struct {
		name      string
		got, want int
	}{
		{"CallVoice", int(CallVoice), 0}, {"CallVideo", int(CallVideo), 1},
		{"StatusDisconnected", int(StatusDisconnected), 0}, {"StatusConnecting", int(StatusConnecting), 2},
		{"StatusConnected", int(StatusConnected), 3}, {"StatusAccepted", int(StatusAccepted), 4},
		{"EndHangup", int(EndHangup), 0}, {"EndNoResponse", int(EndNoResponse), 1},
		{"EndDecline", int(EndDecline), 2}, {"EndBusy", int(EndBusy), 3}, {"EndFailed", int(EndFailed), 4},
		{"EndUnsupported", int(EndUnsupported), 5}, {"EndRemoteOffline", int(EndRemoteOffline), 6},
		{"EndLoginOtherDevice", int(EndLoginOtherDevice), 7}, {"EndDestroy", int(EndDestroy), 8},
		{"EndBeenKicked", int(EndBeenKicked), 9}, {"EndNotEnable", int(EndNotEnable), 101},
		{"EndServiceArrearages", int(EndServiceArrearages), 102},
		{"EndServiceForbidden", int(EndServiceForbidden), 103}, {"ConnectNone", int(ConnectNone), 0},
		{"ConnectDirect", int(ConnectDirect), 1}, {"ConnectRelay", int(ConnectRelay), 2},
		{"StreamVoicePause", int(StreamVoicePause), 0}, {"StreamVoiceResume", int(StreamVoiceResume), 1},
		{"StreamVideoPause", int(StreamVideoPause), 2}, {"StreamVideoResume", int(StreamVideoResume), 3},
		{"NetworkNormal", int(NetworkNormal), 0}, {"NetworkUnstable", int(NetworkUnstable), 1},
		{"NetworkNoData", int(NetworkNoData), 2}, {"CodeCallInvalidID", int(CodeCallInvalidID), 800},
		{"CodeCallBusy", int(CodeCallBusy), 801}, {"CodeCallRemoteOffline", int(CodeCallRemoteOffline), 802},
		{"CodeCallConnectFailed", int(CodeCallConnectFailed), 803},
	} {
		if c.got != c.want {
			t.Errorf("%s = %d, want %d", c.name, c.got, c.want)
		}
	}
}

func TestEnumValid(t *testing.T) {
	for _, c := range []struct {
		name string
		got  bool
		want bool
	}{
		{"CallVoice", CallVoice.Valid(), true}, {"CallType(2)", CallType(2).Valid(), false},
		{"EndServiceForbidden", EndServiceForbidden.Valid(), true}, {"EndReason(12)", EndReason(12).Valid(), false},
		{"StreamVideoResume", StreamVideoResume.Valid(), true}, {"StreamStatus(-1)", StreamStatus(-1).Valid(), false},
	} {
		if c.got != c.want {
			t.Errorf("%s.Valid() = %v", c.name, c.got)
		}
	}
	client := map[EndReason]bool{EndHangup: true, EndDecline: true, EndBusy: true, EndFailed: true,
		EndUnsupported: true, EndNoResponse: true}
	for r := range endReasonNames {
		if got := r.ClientEndReason(); got != client[r] {
			t.Errorf("%v.ClientEndReason() = %v", r, got)
		}
	}
}
