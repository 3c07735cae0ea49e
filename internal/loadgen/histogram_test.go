package loadgen

import (
	"testing"
	"time"
)

func TestHistogramSummary(t *testing.T) {
	var h Histogram
	if s := h.Summary(); s.Count != 0 || s.Buckets != nil {
		t.Errorf("empty: got %+v", s)
	}
	for i := 1; i <= 100; i++ {
		h.Add(time.Duration(i) * time.Millisecond)
	}
	h.Add(10 * time.Second)
	s := h.Summary()
	if s.Count != 101 || s.P50 != 51 || s.P99 != 100 || s.Max != 10000 {
		t.Errorf("got %+v, expected count 101, p50 51, p99 100, max 10000", s)
	}
	n := 0
	for _, b := range s.Buckets {
		n += b.Count
	}
	if n != 101 || s.Buckets[0] != (Bucket{LeMs: 1, Count: 1}) || s.Buckets[len(s.Buckets)-1] != (Bucket{LeMs: -1, Count: 1}) {
		t.Errorf("buckets %+v", s.Buckets)
	}
}
