// Package pionlog sends pion's logs to a slog.Logger. The SDK's peers and the server's media relay
// both use it.
package pionlog

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/pion/logging"
)

// levelTrace is below slog's Debug: pion's trace output is per packet.
const levelTrace = slog.LevelDebug - 4

// Factory sends pion's logs to a slog.Logger, one "scope" attribute per pion part.
type Factory struct{ Log *slog.Logger }

// NewLogger returns the logger of one pion part.
func (f Factory) NewLogger(scope string) logging.LeveledLogger {
	return pionLogger{f.Log.With("pion", scope)}
}

type pionLogger struct{ log *slog.Logger }

func (l pionLogger) logf(level slog.Level, format string, args ...any) {
	// Format only what a handler will keep: pion logs on hot paths.
	if l.log.Enabled(context.Background(), level) {
		l.log.Log(context.Background(), level, fmt.Sprintf(format, args...))
	}
}

func (l pionLogger) Trace(msg string)                  { l.logf(levelTrace, "%s", msg) }
func (l pionLogger) Tracef(format string, args ...any) { l.logf(levelTrace, format, args...) }
func (l pionLogger) Debug(msg string)                  { l.logf(slog.LevelDebug, "%s", msg) }
func (l pionLogger) Debugf(format string, args ...any) { l.logf(slog.LevelDebug, format, args...) }

// pion's info and warnings go to debug: a successful call makes pion warn about candidate
// pairs, closed streams and pipes as connections come and go, none of which an operator can
// act on (duet logs each call's own outcome). pion's errors go to warn: they may be why a
// call failed, which duet's own lines then say.
func (l pionLogger) Info(msg string)                   { l.logf(slog.LevelDebug, "%s", msg) }
func (l pionLogger) Infof(format string, args ...any)  { l.logf(slog.LevelDebug, format, args...) }
func (l pionLogger) Warn(msg string)                   { l.logf(slog.LevelDebug, "%s", msg) }
func (l pionLogger) Warnf(format string, args ...any)  { l.logf(slog.LevelDebug, format, args...) }
func (l pionLogger) Error(msg string)                  { l.logf(slog.LevelWarn, "%s", msg) }
func (l pionLogger) Errorf(format string, args ...any) { l.logf(slog.LevelWarn, format, args...) }
