// Package seal encrypts the secrets duet must keep readable (webhook signing secrets, push
// provider credentials such as the FCM private key or the APNs key) before they reach the
// store, with a key that is not in the database: a copy of the database alone gives them
// away no more. Secrets that only need checking (client secrets, tokens) are hashed
// instead, in server/account.
//
// The key comes from the operator (duet server --secret-key, which several nodes sharing a
// PostgreSQL store must all be given) or from DATA/secret-key, made on first start.
package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
)

// prefix starts every sealed value; values without it are from before sealing and are
// read as they are (Store.Reseal seals them).
const prefix = "sealed:v1:"

// ErrOpen is returned for a sealed value that does not open: another key, or tampering.
var ErrOpen = errors.New("seal: cannot open a sealed secret (wrong --secret-key?)")

// Key seals and opens values with AES-256-GCM.
type Key struct {
	aead cipher.AEAD
}

// NewKey derives a key from secret (at least 16 bytes; a random one, or a long passphrase)
// with SHA-256.
func NewKey(secret string) (*Key, error) {
	if len(secret) < 16 {
		return nil, errors.New("seal: the secret key must be at least 16 characters")
	}
	sum := sha256.Sum256([]byte(secret))
	block, err := aes.NewCipher(sum[:])
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Key{aead: aead}, nil
}

// Seal encrypts plain, bound to context (where the value belongs: another row's sealed
// value does not open here). An empty value stays empty.
func (k *Key) Seal(plain, context string) string {
	if plain == "" {
		return ""
	}
	nonce := make([]byte, k.aead.NonceSize())
	rand.Read(nonce)
	out := k.aead.Seal(nonce, nonce, []byte(plain), []byte(context))
	return prefix + base64.RawStdEncoding.EncodeToString(out)
}

// Open decrypts a value Seal made with the same context; a value that was never sealed is
// returned as it is.
func (k *Key) Open(value, context string) (string, error) {
	if !Sealed(value) {
		return value, nil
	}
	b, err := base64.RawStdEncoding.DecodeString(value[len(prefix):])
	n := k.aead.NonceSize()
	if err != nil || len(b) < n {
		return "", ErrOpen
	}
	plain, err := k.aead.Open(nil, b[:n], b[n:], []byte(context))
	if err != nil {
		return "", ErrOpen
	}
	return string(plain), nil
}

// Sealed reports whether value was made by Seal.
func Sealed(value string) bool { return strings.HasPrefix(value, prefix) }
