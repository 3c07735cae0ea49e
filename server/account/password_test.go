package account

import (
	"strings"
	"testing"
)

func TestHashAndVerify(t *testing.T) {
	p := HashParams{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
	h := hashPassword(p, "s3cret")
	if !strings.HasPrefix(h, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("hash %q not in PHC form", h)
	}
	if h2 := hashPassword(p, "s3cret"); h2 == h {
		t.Error("two hashes of one password are equal: no salt?")
	}
	if !verifyPassword(h, "s3cret") {
		t.Error("right password rejected")
	}
	for _, wrong := range []string{"", "s3cret ", "S3cret"} {
		if verifyPassword(h, wrong) {
			t.Errorf("wrong password %q accepted", wrong)
		}
	}
	// Parameters come from the stored hash, not from the service.
	strong := hashPassword(HashParams{Memory: 128, Time: 2, Threads: 2, SaltLen: 8, KeyLen: 16}, "pw")
	if !verifyPassword(strong, "pw") {
		t.Error("hash with other parameters rejected")
	}
	parts := strings.Split(h, "$")
	for _, bad := range []string{
		"", "plain", "$argon2i$v=19$m=64,t=1,p=1$" + parts[4] + "$" + parts[5],
		"$argon2id$v=18$m=64,t=1,p=1$" + parts[4] + "$" + parts[5],
		"$argon2id$v=19$m=4294967295,t=1,p=1$" + parts[4] + "$" + parts[5],
		"$argon2id$v=19$m=64,t=0,p=1$" + parts[4] + "$" + parts[5],
		"$argon2id$v=19$m=64,t=1,p=0$" + parts[4] + "$" + parts[5],
		"$argon2id$v=19$m=64,t=1,p=1$!!$" + parts[5],
		"$argon2id$v=19$m=64,t=1,p=1$" + parts[4] + "$",
		"$argon2id$v=19$m=64,t=1,p=1$" + parts[4],
	} {
		if verifyPassword(bad, "s3cret") {
			t.Errorf("malformed hash %q accepted", bad)
		}
	}
}

// BenchmarkHashDefault measures one login's hashing cost with DefaultHashParams.
func BenchmarkHashDefault(b *testing.B) {
	for b.Loop() {
		hashPassword(DefaultHashParams, "correct horse battery staple")
	}
}
