package duet

import (
	"errors"

	"github.com/duet-rtc/duet/protocol"
)

// Error is a coded error, EMError: every SDK method that fails for a reason the seed names
// returns an *Error with the seed's code. Test with errors.As or ErrorCodeOf.
type Error = protocol.Error

// ErrorCode is EMErrorCode.
type ErrorCode = protocol.ErrorCode

// Error codes an app is most likely to handle; see package protocol for all of them.
const (
	ErrorGeneral            = protocol.CodeGeneral
	ErrorInvalidAppKey      = protocol.CodeInvalidAppKey
	ErrorNetworkUnavailable = protocol.CodeNetworkUnavailable
	ErrorUserNotLogin       = protocol.CodeUserNotLogin
	ErrorUserAuthFailed     = protocol.CodeUserAuthFailed
	ErrorUserAlreadyExist   = protocol.CodeUserAlreadyExist
	ErrorUserNotFound       = protocol.CodeUserNotFound
	ErrorCallInvalidID      = protocol.CodeCallInvalidID
	ErrorCallBusy           = protocol.CodeCallBusy
	ErrorCallRemoteOffline  = protocol.CodeCallRemoteOffline
	ErrorCallConnectFailed  = protocol.CodeCallConnectFailed
	// ErrorUpgradeRequired: the server no longer speaks this SDK's protocol versions.
	ErrorUpgradeRequired = protocol.CodeUpgradeRequired
	ErrorTooManyAttempts = protocol.CodeTooManyAttempts // login throttled: retry later
	ErrorTooManyDevices  = protocol.CodeTooManyDevices  // the user's device limit is reached
	// ErrorPresenceForbidden: the app's presence policy hides that user's presence.
	ErrorPresenceForbidden = protocol.CodePresenceForbidden
)

// ErrorCodeOf returns the code of err (0 for nil, ErrorGeneral for an uncoded error).
func ErrorCodeOf(err error) ErrorCode { return protocol.CodeOf(err) }

// Errors of the SDK itself.
var (
	// ErrNotLoggedIn is returned by calls that need a logged-in client.
	ErrNotLoggedIn = &Error{Code: protocol.CodeUserNotLogin, Message: "not logged in"}
	// ErrClosed is returned after Close.
	ErrClosed = errors.New("duet: client closed")
)
