package api

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/duet-rtc/duet/protocol"
)

// Error is the JSON body of every error reply, in Easemob's shape plus duet's code:
//
//	{"error":"duplicate_unique_property_exists","error_description":"...","code":203,
//	 "timestamp":1760000000000,"duration":0,"exception":"duet.DuplicateUniquePropertyExistsException"}
//
// AdminClient returns it (with Status set) for every error reply.
type Error struct {
	Status      int                `json:"-"`                 // HTTP status
	Name        string             `json:"error"`             // Easemob-style name
	Description string             `json:"error_description"` // for people
	Code        protocol.ErrorCode `json:"code"`
	Timestamp   int64              `json:"timestamp"` // unix ms
	Duration    int64              `json:"duration"`  // ms
	Exception   string             `json:"exception"`
}

// Error implements error.
func (e *Error) Error() string {
	return fmt.Sprintf("duet api: HTTP %d %s (code %d): %s", e.Status, e.Name, e.Code, e.Description)
}

// Unwrap exposes the code as a *protocol.Error, for errors.As and protocol.CodeOf.
func (e *Error) Unwrap() error { return &protocol.Error{Code: e.Code, Message: e.Description} }

// Error names.
const (
	nameIllegalArgument = "illegal_argument"
	nameJSONParse       = "json_parse"
	nameTooLarge        = "request_entity_too_large"
	nameDuplicate       = "duplicate_unique_property_exists"
	nameUnauthorized    = "unauthorized"
	nameBadToken        = "auth_bad_access_token"
	nameInvalidGrant    = "invalid_grant"
	nameUnsupported     = "unsupported_grant_type"
	nameForbidden       = "forbidden_op"
	nameNotFound        = "service_resource_not_found"
	nameRateLimited     = "reach_limit"
	nameUnavailable     = "service_unavailable"
	nameInternal        = "internal_server_error"
)

// exceptions names the Java-style exception Easemob puts in its error bodies.
var exceptions = map[string]string{
	nameIllegalArgument: "duet.IllegalArgumentException",
	nameJSONParse:       "duet.JsonParseException",
	nameTooLarge:        "duet.RequestEntityTooLargeException",
	nameDuplicate:       "duet.DuplicateUniquePropertyExistsException",
	nameUnauthorized:    "duet.UnauthorizedException",
	nameBadToken:        "duet.AuthBadAccessTokenException",
	nameInvalidGrant:    "duet.InvalidGrantException",
	nameUnsupported:     "duet.UnsupportedGrantTypeException",
	nameForbidden:       "duet.ForbiddenOperationException",
	nameNotFound:        "duet.ServiceResourceNotFoundException",
	nameRateLimited:     "duet.ReachLimitException",
	nameUnavailable:     "duet.ServiceUnavailableException",
	nameInternal:        "duet.InternalServerErrorException",
}

// statusOf maps a code to its HTTP status and error name.
func statusOf(code protocol.ErrorCode) (int, string) {
	switch code {
	case protocol.CodeBadMessage, protocol.CodeInvalidUsername, protocol.CodeInvalidPassword,
		protocol.CodeUsernameTooLong, protocol.CodeUserIllegalArgument, protocol.CodeUnsupportedVersion:
		return http.StatusBadRequest, nameIllegalArgument
	case protocol.CodeUserAlreadyExist, protocol.CodeAppAlreadyExist:
		return http.StatusConflict, nameDuplicate
	case protocol.CodeInvalidAppKey, protocol.CodeUserNotFound, protocol.CodeNotFound:
		return http.StatusNotFound, nameNotFound
	case protocol.CodeInvalidToken:
		return http.StatusUnauthorized, nameBadToken
	case protocol.CodeUserAuthFailed, protocol.CodeRegistrationClosed, protocol.CodeUserNotLogin:
		return http.StatusUnauthorized, nameUnauthorized
	case protocol.CodeServerForbidden:
		return http.StatusForbidden, nameForbidden
	case protocol.CodeRateLimited:
		return http.StatusTooManyRequests, nameRateLimited
	case protocol.CodeServerBusy, protocol.CodeServerTimeout, protocol.CodeServerShutdown:
		return http.StatusServiceUnavailable, nameUnavailable
	}
	return http.StatusInternalServerError, nameInternal
}

// httpError is an error with an explicit status and name, overriding statusOf.
type httpError struct {
	status int
	name   string
	pe     *protocol.Error
	cause  error
}

func (e *httpError) Error() string {
	if e.cause != nil {
		return e.pe.Error() + ": " + e.cause.Error()
	}
	return e.pe.Error()
}

func (e *httpError) Unwrap() []error {
	if e.cause == nil {
		return []error{e.pe}
	}
	return []error{e.pe, e.cause}
}

func newHTTPError(status int, name string, code protocol.ErrorCode, format string, args ...any) *httpError {
	return &httpError{status: status, name: name, pe: protocol.NewError(code, format, args...)}
}

// withStatus keeps err's code and message but replies with status and name.
func withStatus(err error, status int, name string) error {
	var pe *protocol.Error
	if !errors.As(err, &pe) {
		return err
	}
	return &httpError{status: status, name: name, pe: pe, cause: err}
}

var (
	errInternal      = newHTTPError(http.StatusInternalServerError, nameInternal, protocol.CodeGeneral, "internal error")
	errNoToken       = newHTTPError(http.StatusUnauthorized, nameUnauthorized, protocol.CodeInvalidToken, "missing bearer token")
	errBadAdminToken = newHTTPError(http.StatusUnauthorized, nameUnauthorized, protocol.CodeInvalidToken, "wrong admin token")
	errAdminOff      = newHTTPError(http.StatusForbidden, nameForbidden, protocol.CodeServerForbidden, "the admin API is disabled")
	errTooLarge      = newHTTPError(http.StatusRequestEntityTooLarge, nameTooLarge, protocol.CodeBadMessage, "request body larger than %d bytes", MaxBodyBytes)
	errNotYours      = newHTTPError(http.StatusForbidden, nameForbidden, protocol.CodeServerForbidden, "a user token may only act on its own user")
)

// writeError writes err as the JSON error reply. Errors without a code, and codes that
// mean a server fault, are logged and described generically.
func (a *API) writeError(w http.ResponseWriter, r *http.Request, start time.Time, err error) {
	body := Error{Code: protocol.CodeGeneral, Description: "internal error"}
	var pe *protocol.Error
	if errors.As(err, &pe) {
		body.Code, body.Description = pe.Code, pe.Message
	}
	body.Status, body.Name = statusOf(body.Code)
	var he *httpError
	if errors.As(err, &he) {
		body.Status, body.Name = he.status, he.name
	}
	if body.Status >= 500 {
		a.log.Error("api: request failed", "method", r.Method, "path", r.URL.Path, "status", body.Status, "err", err)
	}
	body.Exception = exceptions[body.Name]
	body.Timestamp, body.Duration = a.millis(start)
	writeJSON(w, body.Status, &body)
}

// badJSON is a 400 for a body that is not the expected JSON.
func badJSON(err error) error {
	return &httpError{status: http.StatusBadRequest, name: nameJSONParse,
		pe: protocol.NewError(protocol.CodeBadMessage, "malformed JSON body: %v", err)}
}

// badParam is a 400 for a bad query parameter.
func badParam(name, format string, args ...any) error {
	return newHTTPError(http.StatusBadRequest, nameIllegalArgument, protocol.CodeUserIllegalArgument,
		"parameter %s: %s", name, fmt.Sprintf(format, args...))
}
