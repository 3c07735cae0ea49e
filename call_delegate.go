package duet

// CallManagerDelegate receives call events: EMCallManagerDelegate. Callbacks run on the
// queue given to AddDelegate, never on the SDK's own goroutines.
type CallManagerDelegate interface {
	// CallDidReceive: a call is ringing this device. The SDK is already pre-connecting.
	CallDidReceive(s *CallSession)
	// CallDidConnect: the media transport is up (both sides, usually while ringing). It
	// comes exactly once per call, before or after CallDidAccept.
	CallDidConnect(s *CallSession)
	// CallDidAccept: the callee accepted (both sides).
	CallDidAccept(s *CallSession)
	// CallDidEnd: the call ended, by either side or the server; err is set when it ended
	// because of an error.
	CallDidEnd(s *CallSession, reason EndReason, err error)
	// CallStateDidChange: the peer paused or resumed a stream.
	CallStateDidChange(s *CallSession, status StreamStatus)
	// CallNetworkDidChange: the call's network quality changed (needs EnableReportQuality).
	CallNetworkDidChange(s *CallSession, status NetworkStatus)
}

// CallManagerDelegateBase implements CallManagerDelegate with no-ops; embed it and
// override what you use.
type CallManagerDelegateBase struct{}

// CallDidReceive does nothing.
func (CallManagerDelegateBase) CallDidReceive(*CallSession) {}

// CallDidConnect does nothing.
func (CallManagerDelegateBase) CallDidConnect(*CallSession) {}

// CallDidAccept does nothing.
func (CallManagerDelegateBase) CallDidAccept(*CallSession) {}

// CallDidEnd does nothing.
func (CallManagerDelegateBase) CallDidEnd(*CallSession, EndReason, error) {}

// CallStateDidChange does nothing.
func (CallManagerDelegateBase) CallStateDidChange(*CallSession, StreamStatus) {}

// CallNetworkDidChange does nothing.
func (CallManagerDelegateBase) CallNetworkDidChange(*CallSession, NetworkStatus) {}

// CallBuilderDelegate is EMCallBuilderDelegate.
type CallBuilderDelegate interface {
	// CallRemoteOffline: the callee has no online device; the server pushed to it and keeps
	// ringing until the ring timeout (only with IsSendPushIfOffline).
	CallRemoteOffline(remoteName string)
}
