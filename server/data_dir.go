package server

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// secureDir makes dir and everything in it private to the server's user: folders 0700,
// files 0600. It runs at every start, whatever an older server, the umask or an operator's
// copy left: the data folder holds the database (secrets, tokens' hashes, message texts),
// the admin token, the TURN and encryption keys and the recordings. Symbolic links are left
// alone (their targets are someone else's).
func secureDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	return filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		want := fs.FileMode(0o600)
		switch {
		case d.IsDir():
			want = 0o700
		case !d.Type().IsRegular():
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if perm := info.Mode().Perm(); perm&0o077 != 0 || perm&want != want {
			if err := os.Chmod(path, want|perm&0o100); err != nil { // keeps an owner's x bit
				return fmt.Errorf("make %s private: %w", path, err)
			}
		}
		return nil
	})
}
