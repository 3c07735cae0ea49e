package protocol

import (
	"errors"
	"fmt"
)

// ErrorCode is a numbered error, shared by the wire protocol, the REST API and both SDKs.
// 1–305 and 800–803 are the seed's (Easemob EMErrorCode); 900 on are duet's additions.
type ErrorCode int

// Error codes. See docs/PROTOCOL.md for when each is returned.
const (
	CodeGeneral            ErrorCode = 1
	CodeNetworkUnavailable ErrorCode = 2
	CodeDatabase           ErrorCode = 3

	CodeInvalidAppKey   ErrorCode = 100
	CodeInvalidUsername ErrorCode = 101
	CodeInvalidPassword ErrorCode = 102
	CodeInvalidToken    ErrorCode = 104
	CodeUsernameTooLong ErrorCode = 105

	CodeUserNotLogin           ErrorCode = 201
	CodeUserAuthFailed         ErrorCode = 202
	CodeUserAlreadyExist       ErrorCode = 203
	CodeUserNotFound           ErrorCode = 204
	CodeUserIllegalArgument    ErrorCode = 205
	CodeUserLoginOnOtherDevice ErrorCode = 206
	CodeUserRemoved            ErrorCode = 207
	CodeUserRegisterFailed     ErrorCode = 208

	CodeServerNotReachable ErrorCode = 300
	CodeServerTimeout      ErrorCode = 301
	CodeServerBusy         ErrorCode = 302
	CodeServerUnknown      ErrorCode = 303
	CodeServerForbidden    ErrorCode = 305

	CodeCallInvalidID     ErrorCode = 800
	CodeCallBusy          ErrorCode = 801
	CodeCallRemoteOffline ErrorCode = 802
	CodeCallConnectFailed ErrorCode = 803

	CodeBadMessage         ErrorCode = 900
	CodeUnknownMessage     ErrorCode = 901
	CodeRateLimited        ErrorCode = 902
	CodeUnsupportedVersion ErrorCode = 903
	CodeNotHello           ErrorCode = 904
	CodeCallSelf           ErrorCode = 905
	CodeCallUnsupported    ErrorCode = 906
	CodeNotFound           ErrorCode = 907
	CodeRegistrationClosed ErrorCode = 908
	CodeAppAlreadyExist    ErrorCode = 909
	CodeServerShutdown     ErrorCode = 910
	CodeUpgradeRequired    ErrorCode = 911
)

// Error is a coded error as it travels on the wire and in REST bodies.
type Error struct {
	Code    ErrorCode `json:"code"`
	Message string    `json:"message"`
}

// NewError makes an *Error with a formatted message.
func NewError(code ErrorCode, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

func (e *Error) Error() string { return fmt.Sprintf("duet error %d: %s", e.Code, e.Message) }

// Is makes errors.Is match two *Error values by code alone.
func (e *Error) Is(target error) bool {
	var t *Error
	return errors.As(target, &t) && t.Code == e.Code
}

// CodeOf returns the code carried by err, CodeGeneral for an uncoded error and 0 for nil.
func CodeOf(err error) ErrorCode {
	if err == nil {
		return 0
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeGeneral
}
