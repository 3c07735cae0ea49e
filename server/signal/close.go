package signal

import (
	"errors"
	"unicode/utf8"

	"github.com/coder/websocket"

	"github.com/duet-rtc/duet/protocol"
)

// Close codes the hub closes a device's WebSocket with, besides the standard ones: 1001 going
// away (after goodbye, on shutdown), 1008 policy violation (too many bad frames, rate limit
// abuse), 1009 frame over protocol.MaxFrameBytes, 1011 internal error and 1013 try again later
// (the Authenticator failed for a reason of its own). A slow consumer is cut without a close
// frame (1006 on the device's side): its socket is not draining.
const (
	// CloseBadHello: the first frame was not a valid hello, or named an unsupported version.
	CloseBadHello websocket.StatusCode = 4000
	// CloseUnauthorized: the token was refused. Reconnecting with the same token is useless.
	CloseUnauthorized websocket.StatusCode = 4001
	// CloseForbidden: the user or app may not connect (removed, forbidden).
	CloseForbidden websocket.StatusCode = 4003
	// CloseKicked: the server kicked the device; the kicked frame before it says why. The
	// device does not reconnect by itself.
	CloseKicked websocket.StatusCode = 4004
	// CloseTimeout: no hello in time, or the heartbeat stopped. The device may reconnect.
	CloseTimeout websocket.StatusCode = 4008
)

// closeCodeFor picks the close code that follows a failed hello.
func closeCodeFor(err error) websocket.StatusCode {
	switch protocol.CodeOf(err) {
	case protocol.CodeInvalidToken, protocol.CodeUserAuthFailed, protocol.CodeInvalidAppKey,
		protocol.CodeInvalidUsername, protocol.CodeInvalidPassword, protocol.CodeUserNotFound,
		protocol.CodeUserNotLogin:
		return CloseUnauthorized
	case protocol.CodeUserRemoved, protocol.CodeServerForbidden:
		return CloseForbidden
	case protocol.CodeBadMessage, protocol.CodeUnsupportedVersion, protocol.CodeUpgradeRequired, protocol.CodeNotHello:
		return CloseBadHello
	}
	return websocket.StatusTryAgainLater
}

// maxCloseReason is the longest reason a close frame carries (125 bytes of payload less the
// 2-byte code).
const maxCloseReason = 123

// closeReason makes a close reason from an error's message, cut to fit a close frame.
func closeReason(err error) string {
	var e *protocol.Error
	s := err.Error()
	if errors.As(err, &e) {
		s = e.Message
	}
	if len(s) <= maxCloseReason {
		return s
	}
	s = s[:maxCloseReason]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}
