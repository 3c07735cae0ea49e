package seal

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/duet-rtc/duet/server/store/sqlite"
)

func TestStoreSetting(t *testing.T) {
	raw, err := sqlite.Open(filepath.Join(t.TempDir(), "duet.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	k, _ := NewKey("0123456789abcdef0123456789abcdef")
	st := NewStore(raw, k)
	ctx := context.Background()
	v, err := st.Setting(ctx, "admin-token", "adm_first")
	if err != nil || v != "adm_first" {
		t.Fatalf("Setting = %q, %v", v, err)
	}
	if v, err := st.Setting(ctx, "admin-token", "adm_second"); err != nil || v != "adm_first" {
		t.Fatalf("second Setting = %q, %v; want the first value", v, err)
	}
	if stored, _ := raw.Setting(ctx, "admin-token", "x"); !Sealed(stored) {
		t.Fatalf("stored in clear: %q", stored)
	}
}
