package abuse_test

import (
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/duet-rtc/duet/protocol"
	"github.com/duet-rtc/duet/server"
	"github.com/duet-rtc/duet/server/servertest"
)

// TestDataFolderIsPrivate starts a server on a data folder left world-readable (an older
// server, a umask of 022, an operator's copy): after the start the folder is 0700 and every
// file in it 0600, the database included.
func TestDataFolderIsPrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.MkdirAll(filepath.Join(dir, "recordings", "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"admin-token", "recordings/x/a.webm"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("adm_0123456789abcdef0123456789abcdef\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s := servertest.Start(t, func(c *server.Config) { c.DataDir = dir })
	s.AddUser("alice", "secret-1") // writes the database
	s.FlushCallRecords()
	checkPrivate(t, dir)
	s.Stop()
	checkPrivate(t, dir)
}

func checkPrivate(t *testing.T, dir string) {
	t.Helper()
	n := 0
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		info, _ := d.Info()
		if perm := info.Mode().Perm(); perm&0o077 != 0 {
			t.Errorf("%s is %v: readable by others", path, perm)
		}
		if filepath.Base(path) == "duet.db" {
			n++
		}
		return nil
	})
	if n != 1 {
		t.Fatalf("%d databases in %s", n, dir)
	}
}

func TestPathSegmentUsernamesRefused(t *testing.T) {
	s := servertest.Start(t)
	for _, name := range []string{".", ".."} {
		status, _, code := from(s, "127.0.0.1").post(t, appPath(s)+"/users", "", map[string]string{"username": name, "password": "pw"})
		if status != http.StatusBadRequest || code != protocol.CodeInvalidUsername {
			t.Errorf("register %q: HTTP %d code %d, want 400 and %d", name, status, code, protocol.CodeInvalidUsername)
		}
	}
	s.AddUser("...", "pw") // not a path segment: fine
}
