package turn

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/pion/logging"
)

// pionLoggers sends pion's logs to a slog.Logger. pion logs at debug level for every relayed
// packet, so whether a level is wanted is decided once, when the logger is made, and an
// unwanted call costs a branch.
type pionLoggers struct{ log *slog.Logger }

func (f pionLoggers) NewLogger(scope string) logging.LeveledLogger {
	l := f.log.With("pion", scope)
	ctx := context.Background()
	return &pionLogger{log: l, debug: l.Enabled(ctx, slog.LevelDebug), info: l.Enabled(ctx, slog.LevelInfo)}
}

type pionLogger struct {
	log         *slog.Logger
	debug, info bool
}

func (l *pionLogger) emit(level slog.Level, format string, args ...any) {
	l.log.Log(context.Background(), level, fmt.Sprintf(format, args...))
}

func (l *pionLogger) Trace(string)          {}
func (l *pionLogger) Tracef(string, ...any) {}

func (l *pionLogger) Debug(msg string) {
	if l.debug {
		l.emit(slog.LevelDebug, "%s", msg)
	}
}

func (l *pionLogger) Debugf(format string, args ...any) {
	if l.debug {
		l.emit(slog.LevelDebug, format, args...)
	}
}

func (l *pionLogger) Info(msg string) {
	if l.info {
		l.emit(slog.LevelInfo, "%s", msg)
	}
}

func (l *pionLogger) Infof(format string, args ...any) {
	if l.info {
		l.emit(slog.LevelInfo, format, args...)
	}
}

// pion reports a client's bad request as a warning or an error; for the server those are
// the client's problem, so they are logged at debug level where they cannot flood the log.
func (l *pionLogger) Warn(msg string)                   { l.Debug(msg) }
func (l *pionLogger) Warnf(format string, args ...any)  { l.Debugf(format, args...) }
func (l *pionLogger) Error(msg string)                  { l.Debug(msg) }
func (l *pionLogger) Errorf(format string, args ...any) { l.Debugf(format, args...) }
