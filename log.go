package duet

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"gopkg.in/natefinch/lumberjack.v2"
)

// LogFileName is the SDK log file inside Options.LogDir: the seed's "取日志" is this file
// and its rotated siblings.
const LogFileName = "duet.log"

// newLogger builds the SDK logger: a rotating file in LogDir and/or the console.
func newLogger(o Options) (*slog.Logger, io.Closer) {
	var writers []io.Writer
	var closer io.Closer = nopCloser{}
	if o.LogDir != "" {
		if err := os.MkdirAll(o.LogDir, 0o755); err == nil {
			lj := &lumberjack.Logger{
				Filename:   filepath.Join(o.LogDir, LogFileName),
				MaxSize:    5, // megabytes
				MaxBackups: 3,
			}
			writers = append(writers, lj)
			closer = lj
		}
	}
	if o.EnableConsoleLog {
		writers = append(writers, os.Stderr)
	}
	if len(writers) == 0 {
		return slog.New(slog.DiscardHandler), closer
	}
	h := slog.NewTextHandler(io.MultiWriter(writers...), &slog.HandlerOptions{Level: parseLevel(o.LogLevel)})
	return slog.New(h).With("device", o.DeviceID), closer
}

func parseLevel(s string) slog.Level {
	switch strings.ToLower(s) {
	case "debug":
		return slog.LevelDebug
	case "warn":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	return slog.LevelInfo
}

type nopCloser struct{}

func (nopCloser) Close() error { return nil }
