package duet

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// LogFileName is the SDK log file inside Options.LogDir: the seed's "取日志" is this file
// and its rotated siblings duet.log.1 … duet.log.3.
const LogFileName = "duet.log"

const (
	logMaxBytes   = 5 << 20 // rotate at 5 MiB
	logMaxBackups = 3
)

// newLogger builds the SDK logger: a rotating file in LogDir and/or the console.
func newLogger(o Options) (*slog.Logger, io.Closer) {
	if o.Logger != nil {
		return o.Logger, nopCloser{}
	}
	var writers []io.Writer
	var closer io.Closer = nopCloser{}
	if o.LogDir != "" {
		if f, err := openRotatingFile(filepath.Join(o.LogDir, LogFileName)); err == nil {
			writers = append(writers, f)
			closer = f
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

// rotatingFile is an append-only log file that renames itself to .1 (shifting older ones
// up to .3) when it passes logMaxBytes. It is written by hand rather than with lumberjack
// because lumberjack v2 leaves a goroutine running after Close, one per Client.
type rotatingFile struct {
	mu   sync.Mutex
	path string
	f    *os.File
	size int64
}

func openRotatingFile(path string) (*rotatingFile, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	r := &rotatingFile{path: path}
	return r, r.open()
}

func (r *rotatingFile) open() error {
	f, err := os.OpenFile(r.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	r.f, r.size = f, st.Size()
	return nil
}

// Write appends p, rotating first if p would take the file past the limit.
func (r *rotatingFile) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.f == nil {
		return 0, os.ErrClosed
	}
	if r.size > 0 && r.size+int64(len(p)) > logMaxBytes {
		if err := r.rotate(); err != nil {
			return 0, err
		}
	}
	n, err := r.f.Write(p)
	r.size += int64(n)
	return n, err
}

func (r *rotatingFile) rotate() error {
	r.f.Close()
	for i := logMaxBackups - 1; i >= 1; i-- {
		_ = os.Rename(fmt.Sprintf("%s.%d", r.path, i), fmt.Sprintf("%s.%d", r.path, i+1))
	}
	if err := os.Rename(r.path, r.path+".1"); err != nil {
		return err
	}
	return r.open()
}

// Close closes the file; later writes fail.
func (r *rotatingFile) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.f == nil {
		return nil
	}
	err := r.f.Close()
	r.f = nil
	return err
}

type nopCloser struct{}

func (nopCloser) Close() error { return nil }
