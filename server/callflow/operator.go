package callflow

import "github.com/duet-rtc/duet/protocol"

// OperatorReason reports whether an operator may end a call with r: BeenKicked (9) or
// ServiceForbidden (103), the seed's reasons for a call the service ended.
func OperatorReason(r protocol.EndReason) bool {
	return r == protocol.EndBeenKicked || r == protocol.EndServiceForbidden
}

// EndByOperator ends a live call of app for the service's operator (the admin API or
// console): every active device of the call is told call.ended with reason and no ender,
// and the call is recorded so. CodeCallInvalidID when the app has no such live call.
func (e *Engine) EndByOperator(app, id string, reason protocol.EndReason) error {
	if !OperatorReason(reason) {
		return protocol.NewError(protocol.CodeUserIllegalArgument, "an operator ends a call with reason 9 or 103")
	}
	e.lock()
	defer e.unlock()
	if e.closed.Load() {
		return errShutdown
	}
	c := e.live(app, id)
	if c == nil {
		return errInvalidID
	}
	e.serverEnd(c, reason)
	return nil
}
