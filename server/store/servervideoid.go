package store

import (
	"crypto/sha256"
	"encoding/base32"
	"strings"
)

// ServerVideoIDOf is the id that names the recordings of call callID of app. It is derived
// from the call, not drawn at random, so that a call recorded again after a server restart
// keeps its serverVideoId and all its recordings are found under it, and so that a call
// record shows it wherever it is built.
func ServerVideoIDOf(app, callID string) string {
	sum := sha256.Sum256([]byte("duet serverVideoId\x00" + app + "\x00" + callID))
	return "rec" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(sum[:16]))
}
