package account

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strings"
	"sync"

	"golang.org/x/crypto/argon2"

	"github.com/duet-rtc/duet/protocol"
)

// HashParams is the cost of an argon2id password hash.
type HashParams struct {
	Memory  uint32 // KiB
	Time    uint32 // passes
	Threads uint8
	SaltLen uint32 // bytes
	KeyLen  uint32 // bytes
}

// DefaultHashParams is OWASP's argon2id recommendation (19 MiB, 2 passes, 1 lane), about
// 20 ms per hash on one core of a current server.
var DefaultHashParams = HashParams{Memory: 19 * 1024, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}

// Bounds on the parameters read back from a stored hash, so that a corrupt row cannot make
// a login allocate gigabytes.
const (
	maxHashMemory  = 1 << 20 // KiB: 1 GiB
	maxHashTime    = 64
	maxHashKeyLen  = 128
	maxHashSaltLen = 128
)

var b64 = base64.RawStdEncoding // the PHC string format's base64

// hashPassword returns password's argon2id hash as a PHC string:
// $argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>.
func hashPassword(p HashParams, password string) string {
	salt := randomBytes(int(p.SaltLen))
	key := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key))
}

// verifyPassword reports whether password matches the PHC string phc, in constant time
// with respect to the password. A malformed phc never matches.
func verifyPassword(phc, password string) bool {
	p, salt, key, ok := parsePHC(phc)
	if !ok {
		return false
	}
	got := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, uint32(len(key)))
	return subtle.ConstantTimeCompare(got, key) == 1
}

func parsePHC(phc string) (p HashParams, salt, key []byte, ok bool) {
	parts := strings.Split(phc, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return p, nil, nil, false
	}
	var v int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return p, nil, nil, false
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil {
		return p, nil, nil, false
	}
	salt, err1 := b64.DecodeString(parts[4])
	key, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(key) < 16 || len(key) > maxHashKeyLen || len(salt) < 8 || len(salt) > maxHashSaltLen ||
		p.Memory < 8*uint32(p.Threads) || p.Memory > maxHashMemory || p.Time < 1 || p.Time > maxHashTime || p.Threads < 1 {
		return p, nil, nil, false
	}
	return p, salt, key, true
}

// acquireHash waits for one of the service's hashing slots.
func (s *Service) acquireHash(ctx context.Context) (release func(), err error) {
	select {
	case s.hashSlots <- struct{}{}:
		return func() { <-s.hashSlots }, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: %w", protocol.NewError(protocol.CodeServerBusy, "server busy"), ctx.Err())
	}
}

// hash hashes password with the service's parameters, within a hashing slot.
func (s *Service) hash(ctx context.Context, password string) (string, error) {
	release, err := s.acquireHash(ctx)
	if err != nil {
		return "", err
	}
	defer release()
	return hashPassword(s.Hash, password), nil
}

// verify checks password against phc within a hashing slot. An empty phc (unknown user)
// is checked against a dummy hash of the same cost, so that a wrong username takes as
// long to reject as a wrong password.
func (s *Service) verify(ctx context.Context, phc, password string) (bool, error) {
	release, err := s.acquireHash(ctx)
	if err != nil {
		return false, err
	}
	defer release()
	if phc == "" {
		verifyPassword(s.dummy.get(s.Hash), password)
		return false, nil
	}
	return verifyPassword(phc, password), nil
}

// dummyHash is a hash of a random password, made once, for verify.
type dummyHash struct {
	once sync.Once
	phc  string
}

func (d *dummyHash) get(p HashParams) string {
	d.once.Do(func() { d.phc = hashPassword(p, randomString(16)) })
	return d.phc
}
