package seal

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// KeyFile is the name of the key file in the data folder.
const KeyFile = "secret-key"

// LoadKey returns the key of configured when it is not empty, or else of DATA/secret-key,
// which it makes (0600, 256 random bits) when there is none. Keep the file with the
// database's backups, but apart from them: either alone reveals no secret.
func LoadKey(dataDir, configured string) (*Key, error) {
	if configured != "" {
		return NewKey(configured)
	}
	path := filepath.Join(dataDir, KeyFile)
	if b, err := os.ReadFile(path); err == nil {
		return NewKey(strings.TrimSpace(string(b)))
	} else if !os.IsNotExist(err) {
		return nil, fmt.Errorf("seal: read %s: %w", path, err)
	}
	buf := make([]byte, 32)
	rand.Read(buf)
	secret := hex.EncodeToString(buf)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		if os.IsExist(err) { // another process made it meanwhile
			return LoadKey(dataDir, "")
		}
		return nil, fmt.Errorf("seal: create %s: %w", path, err)
	}
	if _, err := f.WriteString(secret + "\n"); err != nil {
		f.Close()
		return nil, fmt.Errorf("seal: write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("seal: write %s: %w", path, err)
	}
	return NewKey(secret)
}
