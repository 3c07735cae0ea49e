package loadgen

import (
	"context"
	"testing"
	"time"
)

// TestProgress: a run reports its progress while it runs and once at the end, with the
// failures it counted (here every login: no server listens).
func TestProgress(t *testing.T) {
	var last Progress
	calls := 0
	res, err := Run(context.Background(), Config{
		Servers: []string{"http://127.0.0.1:1"}, AppKey: "a#b", Users: "p", Password: "pw", Pairs: 2,
		Duration: 300 * time.Millisecond, StepTimeout: 5 * time.Second,
		Progress: func(p Progress) { last = p; calls++ },
	})
	if err != nil {
		t.Fatal(err)
	}
	if calls == 0 || last.Failed != 2 || last.Duration != 300*time.Millisecond {
		t.Errorf("%d progress calls, last %+v: expected the 2 login failures", calls, last)
	}
	if res.Failed() != 2 || res.Connected != 0 {
		t.Errorf("result %+v", res)
	}
}
