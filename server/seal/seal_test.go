package seal

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestSealOpen(t *testing.T) {
	k, err := NewKey("0123456789abcdef0123456789abcdef")
	if err != nil {
		t.Fatal(err)
	}
	v := k.Seal("the secret", "ctx-a")
	if !Sealed(v) || v == k.Seal("the secret", "ctx-a") {
		t.Fatalf("Seal = %q: not sealed, or not randomised", v)
	}
	if got, err := k.Open(v, "ctx-a"); err != nil || got != "the secret" {
		t.Fatalf("Open = %q, %v", got, err)
	}
	if _, err := k.Open(v, "ctx-b"); !errors.Is(err, ErrOpen) {
		t.Errorf("opened in another row's context: %v", err)
	}
	other, _ := NewKey("another key of 16+ characters")
	if _, err := other.Open(v, "ctx-a"); !errors.Is(err, ErrOpen) {
		t.Errorf("opened with another key: %v", err)
	}
	if got, err := k.Open("legacy clear", "ctx-a"); err != nil || got != "legacy clear" {
		t.Errorf("a value from before sealing: %q, %v", got, err)
	}
	if k.Seal("", "x") != "" {
		t.Error("an empty value is sealed")
	}
	if _, err := NewKey("short"); err == nil {
		t.Error("a short key was accepted")
	}
}

func TestLoadKey(t *testing.T) {
	dir := t.TempDir()
	k1, err := LoadKey(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(dir, KeyFile))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, %v", st, err)
	}
	k2, _ := LoadKey(dir, "")
	if got, err := k2.Open(k1.Seal("x", "c"), "c"); err != nil || got != "x" {
		t.Fatalf("the key file's key changed between loads: %v", err)
	}
	k3, _ := LoadKey(dir, "configured key, 16+ characters")
	if _, err := k3.Open(k1.Seal("x", "c"), "c"); err == nil {
		t.Fatal("a configured key must win over the file")
	}
}
