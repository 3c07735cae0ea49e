package push

import "errors"

// sendError is a failed push, classified: gone means the provider no longer knows the token
// (it is unbound), retry that another attempt may work.
type sendError struct {
	err   error
	gone  bool
	retry bool
}

func (e *sendError) Error() string { return e.err.Error() }
func (e *sendError) Unwrap() error { return e.err }

// errNotForTarget skips a target that this kind of push does not go to.
var errNotForTarget = errors.New("push: not for this target")

func isGone(err error) bool {
	var se *sendError
	return errors.As(err, &se) && se.gone
}

func isRetryable(err error) bool {
	var se *sendError
	return errors.As(err, &se) && se.retry
}
