package main

import "github.com/duet-rtc/duet/protocol"

// The seed's names of its enums (EMCallEndReason…, without the prefix), which JSON output
// carries beside the numbers: {"reason":1,"reasonName":"NoResponse"}. A number the seed
// does not name prints as "".

var endReasonNames = map[protocol.EndReason]string{
	protocol.EndHangup: "Hangup", protocol.EndNoResponse: "NoResponse", protocol.EndDecline: "Decline",
	protocol.EndBusy: "Busy", protocol.EndFailed: "Failed", protocol.EndUnsupported: "Unsupported",
	protocol.EndRemoteOffline: "RemoteOffline", protocol.EndLoginOtherDevice: "LoginOtherDevice",
	protocol.EndDestroy: "Destroy", protocol.EndBeenKicked: "BeenKicked",
	protocol.EndAnsweredElsewhere: "AnsweredElsewhere", protocol.EndNotEnable: "NotEnable",
	protocol.EndServiceArrearages: "ServiceArrearages", protocol.EndServiceForbidden: "ServiceForbidden",
}

var callStatusNames = map[protocol.CallStatus]string{
	protocol.StatusDisconnected: "Disconnected", protocol.StatusConnecting: "Connecting",
	protocol.StatusConnected: "Connected", protocol.StatusAccepted: "Accepted",
}

var connectTypeNames = map[protocol.ConnectType]string{
	protocol.ConnectNone: "None", protocol.ConnectDirect: "Direct", protocol.ConnectRelay: "Relay",
}

var networkNames = map[protocol.NetworkStatus]string{
	protocol.NetworkNormal: "Normal", protocol.NetworkUnstable: "Unstable", protocol.NetworkNoData: "NoData",
}
