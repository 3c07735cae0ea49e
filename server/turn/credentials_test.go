package turn

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/duet-rtc/duet/internal/clock"
)

func TestCredentialsIssueCheck(t *testing.T) {
	clk := clock.NewFake(time.Unix(1_800_000_000, 0))
	c := NewCredentials(testSecret, 10*time.Minute, clk)
	name, pw, exp := c.Issue("acme#phone", "alice", "c1")
	if want := "1800000600:acme#phone:alice:c1"; name != want {
		t.Fatalf("username %q, want %q", name, want)
	}
	if !exp.Equal(time.Unix(1_800_000_600, 0)) {
		t.Fatalf("expiry %v", exp)
	}
	if pw != c.Password(name) || pw == "" {
		t.Fatalf("password %q does not match Password", pw)
	}
	// The REST API password: base64(HMAC-SHA1(secret, username)), as coturn computes it.
	if other := NewCredentials([]byte("another secret, 16+ bytes"), time.Minute, clk); other.Password(name) == pw {
		t.Fatal("a different secret gave the same password")
	}
	id, err := c.Check(name)
	if err != nil {
		t.Fatal(err)
	}
	if id.App != "acme#phone" || id.User != "alice" || id.CallID != "c1" || id.UserID() != "acme#phone:alice" {
		t.Fatalf("identity %+v", id)
	}
	clk.Advance(10*time.Minute - time.Second)
	if _, err := c.Check(name); err != nil {
		t.Fatalf("a second before expiry: %v", err)
	}
	clk.Advance(time.Second)
	if _, err := c.Check(name); !errors.Is(err, ErrExpired) {
		t.Fatalf("at expiry: %v, want ErrExpired", err)
	}
}

func TestCredentialsRejectMalformed(t *testing.T) {
	clk := clock.NewFake(time.Unix(1_800_000_000, 0))
	c := NewCredentials(testSecret, 10*time.Minute, clk)
	for _, name := range []string{
		"", "1800000600", "1800000600:alice", "1800000600:app:alice",
		"1800000600:app:alice:c1:extra", "x:app:alice:c1", "-5:app:alice:c1",
		"1800000600::alice:c1", "1800000600:app::c1", "1800000600:app:alice:",
		"1900000000:app:alice:c1", // far beyond what this TTL ever issues
		strings.Repeat("9", 40) + ":app:alice:c1",
	} {
		if _, err := c.Check(name); err == nil {
			t.Errorf("Check(%q) accepted", name)
		}
	}
}

func TestLoadOrCreateSecret(t *testing.T) {
	path := t.TempDir() + "/turn-secret"
	a, err := LoadOrCreateSecret(path)
	if err != nil || len(a) != 64 {
		t.Fatalf("create: %q %v", a, err)
	}
	b, err := LoadOrCreateSecret(path)
	if err != nil || string(a) != string(b) {
		t.Fatalf("reload: %q %v, want %q", b, err, a)
	}
}
