package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/duet-rtc/duet/server/store"
)

// testSettingsFirstWriterWins: a setting keeps the first value stored, and writers racing
// to store different values all read the one that won (nodes of a cluster starting
// together must agree on one admin token).
func testSettingsFirstWriterWins(t *testing.T, s store.Backend) {
	ctx := context.Background()
	v, err := s.Setting(ctx, "a", "one")
	if err != nil || v != "one" {
		t.Fatalf("Setting(a, one) = %q, %v; want one", v, err)
	}
	if v, err := s.Setting(ctx, "a", "two"); err != nil || v != "one" {
		t.Fatalf("Setting(a, two) = %q, %v; want the stored one", v, err)
	}
	const n = 8
	got := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := s.Setting(ctx, "b", fmt.Sprint("v", i))
			if err != nil {
				t.Errorf("Setting(b): %v", err)
			}
			got[i] = v
		}()
	}
	wg.Wait()
	for i := range got {
		if got[i] == "" || got[i] != got[0] {
			t.Fatalf("racing writers read %q; want one value for all", got)
		}
	}
}
