package loadgen

import (
	"math"
	"slices"
	"time"
)

// Histogram is a latency distribution: every sample is kept (a run makes at most a few
// hundred thousand), so percentiles are exact.
type Histogram struct {
	samples []time.Duration
}

// Add records one sample.
func (h *Histogram) Add(d time.Duration) { h.samples = append(h.samples, d) }

// Summary is a Histogram as a report shows it, in milliseconds.
type Summary struct {
	Count   int      `json:"count"`
	P50     float64  `json:"p50Ms"`
	P90     float64  `json:"p90Ms"`
	P95     float64  `json:"p95Ms"`
	P99     float64  `json:"p99Ms"`
	Max     float64  `json:"maxMs"`
	Buckets []Bucket `json:"buckets,omitempty"`
}

// Bucket counts the samples above the previous bucket's bound and at most LeMs.
type Bucket struct {
	LeMs  float64 `json:"leMs"`
	Count int     `json:"count"`
}

// bounds are the buckets' upper bounds in milliseconds, doubling from 1 ms; the last one
// takes everything longer.
var bounds = []float64{1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, math.Inf(1)}

// Summary sorts the samples and summarises them.
func (h *Histogram) Summary() Summary {
	s := slices.Clone(h.samples)
	slices.Sort(s)
	sum := Summary{Count: len(s)}
	if len(s) == 0 {
		return sum
	}
	at := func(q float64) float64 { return ms(s[int(q*float64(len(s)-1)+0.5)]) }
	sum.P50, sum.P90, sum.P95, sum.P99, sum.Max = at(0.50), at(0.90), at(0.95), at(0.99), ms(s[len(s)-1])
	i := 0
	for _, le := range bounds {
		n := 0
		for i < len(s) && ms(s[i]) <= le {
			n++
			i++
		}
		if n > 0 {
			b := Bucket{LeMs: le, Count: n}
			if math.IsInf(le, 1) {
				b.LeMs = -1 // JSON has no infinity: -1 is "longer than every bound"
			}
			sum.Buckets = append(sum.Buckets, b)
		}
	}
	return sum
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
