package turn

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
)

// LoadOrCreateSecret returns the secret kept in the file at path, creating the file (mode
// 0600) with 64 random hex characters when it is missing. Each data folder so gets its own
// secret, and credentials survive a restart. The secret is the file's text itself (trimmed),
// as coturn's static-auth-secret is, so one secret can serve both servers.
func LoadOrCreateSecret(path string) ([]byte, error) {
	if b, err := os.ReadFile(path); err == nil {
		secret := strings.TrimSpace(string(b))
		if len(secret) < 16 {
			return nil, fmt.Errorf("turn: the secret in %s is shorter than 16 characters", path)
		}
		return []byte(secret), nil
	} else if !os.IsNotExist(err) {
		return nil, fmt.Errorf("turn: read secret: %w", err)
	}
	buf := make([]byte, 32)
	if _, err := rand.Read(buf); err != nil {
		return nil, err
	}
	secret := hex.EncodeToString(buf)
	if err := os.WriteFile(path, []byte(secret+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("turn: save secret: %w", err)
	}
	return []byte(secret), nil
}
