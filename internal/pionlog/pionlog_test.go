package pionlog

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

// pion's warnings are debug lines and its errors warnings: what is left at info and above
// is duet's own account of its calls.
func TestLevels(t *testing.T) {
	var buf bytes.Buffer
	log := Factory{Log: slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))}.NewLogger("ice")
	log.Warn("failed to ping without candidate pairs")
	log.Info("connection state changed")
	log.Errorf("handshake failed: %d", 3)
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	want := []string{"level=DEBUG", "level=DEBUG", "level=WARN"}
	if len(lines) != 3 {
		t.Fatalf("lines %q", lines)
	}
	for i, w := range want {
		if !strings.Contains(lines[i], w) || !strings.Contains(lines[i], "pion=ice") {
			t.Errorf("line %d %q, want %s", i, lines[i], w)
		}
	}
}
