package quality

import (
	"testing"
	"time"
)

func TestRateController(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	at := func(d time.Duration) time.Time { return t0.Add(d) }

	r := NewRateController(100_000, 500_000, 500_000)
	if r.Target() != 500_000 || r.Max() != 500_000 {
		t.Fatalf("start %d max %d", r.Target(), r.Max())
	}
	if got := r.OnLoss(at(time.Second), 0); got != 500_000 {
		t.Fatalf("growth past the cap: %d", got)
	}
	if got := r.OnLoss(at(2*time.Second), 0.05); got != 500_000 {
		t.Fatalf("5 %% loss changed the rate: %d", got)
	}
	if got := r.OnLoss(at(3*time.Second), 0.4); got != 400_000 {
		t.Fatalf("40 %% loss: %d, want 400000", got)
	}
	if got := r.OnLoss(at(3*time.Second+100*time.Millisecond), 0.4); got != 400_000 {
		t.Fatalf("a second decrease within the hold: %d", got)
	}
	for i := 0; i < 20; i++ {
		r.OnLoss(at(time.Duration(4+i)*time.Second), 0.9)
	}
	if r.Target() != 100_000 {
		t.Fatalf("floor: %d", r.Target())
	}
	for i := 0; i < 40; i++ {
		r.OnLoss(at(time.Duration(30+i)*time.Second), 0)
	}
	if r.Target() != 500_000 {
		t.Fatalf("recovery: %d", r.Target())
	}
	// The peer's caps bound the rate from above, the lowest one winning.
	if got := r.SetRemoteCap(300_000); got != 300_000 {
		t.Fatalf("remote cap: %d", got)
	}
	if got := r.OnREMB(200_000); got != 200_000 {
		t.Fatalf("REMB: %d", got)
	}
	// A cap lifted raises the limit, not the rate: that grows back report by report.
	if got := r.OnREMB(0); got != 200_000 || r.Max() != 300_000 {
		t.Fatalf("REMB removed: target %d max %d", got, r.Max())
	}
	if got := r.OnLoss(at(time.Minute), 0); got != 217_000 {
		t.Fatalf("growth: %d", got)
	}
	if got := r.SetRemoteCap(0); got != 217_000 || r.Max() != 500_000 {
		t.Fatalf("cap removed: target %d max %d", got, r.Max())
	}
	if got := r.OnREMB(50_000); got != 100_000 {
		t.Fatalf("a REMB below the floor: %d, want the floor", got)
	}

	a := NewRateController(0, 0, 600_000)
	if a.Max() != 2_000_000 || a.Target() != 600_000 {
		t.Fatalf("adaptive defaults: max %d target %d", a.Max(), a.Target())
	}
}
