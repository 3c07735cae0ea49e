// Package leaktest is the one goroutine-leak check of duet's tests, on go.uber.org/goleak.
package leaktest

import (
	"testing"
	"time"

	"go.uber.org/goleak"
)

// grace is how long goroutines have to finish after the test.
const grace = 5 * time.Second

// Check fails t if goroutines started during the test are still running when it ends,
// after a grace of about five seconds for those already on their way out. Call it first in
// a test, so that its cleanup runs after every other (servers stopped, clients closed).
func Check(t testing.TB) {
	t.Helper()
	current := goleak.IgnoreCurrent()
	t.Cleanup(func() {
		// goleak retries for about half a second; closing peer connections and draining
		// servers can take longer on a loaded machine.
		deadline := time.Now().Add(grace)
		for {
			err := goleak.Find(current)
			if err == nil {
				return
			}
			if time.Now().After(deadline) {
				t.Error(err)
				return
			}
		}
	})
}
