package duet

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/duet-rtc/duet/internal/device"
	"github.com/duet-rtc/duet/protocol"
)

// dialDevice connects to the node o names, says hello (resuming the calls in resume) and
// waits for the welcome; the connection itself is internal/transport's.
func dialDevice(ctx context.Context, o *Options, token string, resume []string, log *slog.Logger, onMsg func(*protocol.Envelope)) (*device.Conn, error) {
	hello := protocol.Hello{
		Version:      o.versions[len(o.versions)-1],
		Versions:     o.versions,
		Token:        token,
		DeviceID:     o.DeviceID,
		PingInterval: int(o.PingInterval / time.Second),
		Capabilities: protocol.Capabilities{Audio: true, Video: !o.NoVideo},
		Calls:        resume,
	}
	return device.Dial(ctx, o.WebSocketURL, o.HTTPClient, hello, log, onMsg)
}

// isAuthError reports whether err means the token is no good (stop reconnecting).
// CodeUnsupportedVersion is not one: a server older than this SDK (a rollback, or a node of
// a cluster not upgraded yet) may be replaced by a newer one, so the SDK keeps trying.
func isAuthError(err error) bool {
	var e *Error
	if !errors.As(err, &e) {
		return false
	}
	switch e.Code {
	case protocol.CodeInvalidToken, protocol.CodeUserAuthFailed, protocol.CodeUserNotFound, protocol.CodeUserRemoved:
		return true
	}
	return false
}

// isUpgradeRequired reports whether the server refused every protocol version this SDK
// speaks as too old: only a newer app can connect (stop reconnecting).
func isUpgradeRequired(err error) bool { return ErrorCodeOf(err) == protocol.CodeUpgradeRequired }
