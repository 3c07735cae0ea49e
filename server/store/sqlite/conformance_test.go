package sqlite

import (
	"testing"

	"github.com/duet-rtc/duet/server/store"
	"github.com/duet-rtc/duet/server/store/storetest"
)

// TestConformance runs the store suite on a fresh database file per case.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Backend {
		s, _ := openTest(t)
		return s
	})
}
