package postgres_test

import (
	"testing"

	"github.com/duet-rtc/duet/server/store"
	"github.com/duet-rtc/duet/server/store/postgres/pgtest"
	"github.com/duet-rtc/duet/server/store/storetest"
)

// TestConformance runs the store suite on a fresh database per case (skipped without
// DUET_TEST_POSTGRES).
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Backend { return pgtest.New(t) })
}
