package server

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/duet-rtc/duet/server/seal"
	"github.com/duet-rtc/duet/server/store"
	"github.com/duet-rtc/duet/server/store/sqlite"
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

// sealStore wraps st so that webhook secrets and push credentials are stored encrypted
// with the key of Config.SecretKey or DATA/secret-key, and seals what an older server left
// in clear.
func sealStore(ctx context.Context, cfg Config, st store.Backend) (store.Backend, error) {
	if cfg.clustered() && cfg.SecretKey == "" {
		// Each node would make a key of its own and could not read what the others sealed.
		return st, errors.New("the nodes of a cluster need one secret key (Config.SecretKey, duet server --secret-key)")
	}
	key, err := seal.LoadKey(cfg.DataDir, cfg.SecretKey)
	if err != nil {
		return st, err
	}
	if _, embedded := st.(*sqlite.Store); cfg.SecretKey == "" && !embedded {
		cfg.Logger.Warn("secrets are sealed with the key in the data folder; nodes that share this store need the same --secret-key",
			"file", filepath.Join(cfg.DataDir, seal.KeyFile))
	}
	sealed := seal.NewStore(st, key)
	n, err := sealed.Reseal(ctx)
	if err != nil {
		return st, fmt.Errorf("seal stored secrets: %w", err)
	}
	if n > 0 {
		cfg.Logger.Info("secrets stored in clear are now sealed", "count", n)
	}
	return sealed, nil
}
