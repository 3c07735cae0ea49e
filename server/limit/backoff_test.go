package limit

import (
	"testing"
	"time"

	"github.com/duet-rtc/duet/internal/clock"
)

func TestBackoffDoublesAndCaps(t *testing.T) {
	clk := clock.NewFake(time.Unix(1000, 0))
	b := NewBackoff(BackoffConfig{Free: 3, Base: time.Second, Max: 8 * time.Second, Forget: time.Hour}, clk)
	for i := range 3 {
		if w := b.Try("k"); w != 0 {
			t.Fatalf("free attempt %d refused: wait %v", i, w)
		}
	}
	// The 4th must wait 1 s, then 2, 4, 8, 8.
	for _, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 8 * time.Second} {
		if w := b.Try("k"); w != want {
			t.Fatalf("wait %v, want %v", w, want)
		}
		if w := b.Try("k"); w != want {
			t.Fatalf("a refused attempt moved the wait: %v, want %v", w, want)
		}
		clk.Advance(want)
		if w := b.Try("k"); w != 0 {
			t.Fatalf("refused after waiting %v: %v", want, w)
		}
	}
	if w := b.Try("other"); w != 0 {
		t.Fatalf("another key waits %v", w)
	}
}

func TestBackoffSucceeded(t *testing.T) {
	clk := clock.NewFake(time.Unix(1000, 0))
	b := NewBackoff(BackoffConfig{Free: 2, Base: time.Second, Max: time.Minute, Forget: time.Hour}, clk)
	b.Try("k")
	b.Try("k")
	b.Succeeded("k", false) // takes one back: one failure left, which is free
	if w := b.Try("k"); w != 0 {
		t.Fatalf("wait %v after a success", w)
	}
	b.Succeeded("k", true)
	if n := b.Failures("k"); n != 0 {
		t.Fatalf("failures %d after reset", n)
	}
	// A quiet key is forgotten.
	b.Try("q")
	b.Try("q")
	b.Try("q")
	clk.Advance(time.Hour)
	if w := b.Try("q"); w != 0 || b.Failures("q") != 1 {
		t.Fatalf("a key quiet for Forget: wait %v, failures %d", w, b.Failures("q"))
	}
}

func TestBackoffMaxKeys(t *testing.T) {
	clk := clock.NewFake(time.Unix(1000, 0))
	b := NewBackoff(BackoffConfig{Free: 0, Base: time.Second, Max: time.Minute, Forget: time.Hour, MaxKeys: 10}, clk)
	for i := range 100 {
		b.Try(string(rune('a' + i)))
		clk.Advance(time.Millisecond)
	}
	if n := len(b.keys); n > 10 {
		t.Fatalf("%d keys tracked, max 10", n)
	}
}

func TestBuckets(t *testing.T) {
	clk := clock.NewFake(time.Unix(1000, 0))
	b := NewBuckets(0.5, 4, clk)
	if w := b.Take("a", 5); w >= 0 {
		t.Fatalf("more than the burst: %v", w)
	}
	if w := b.Take("a", 4); w != 0 {
		t.Fatalf("burst refused: %v", w)
	}
	if w := b.Take("a", 1); w != 2*time.Second {
		t.Fatalf("wait %v, want 2s", w)
	}
	clk.Advance(2 * time.Second)
	if w := b.Take("a", 1); w != 0 {
		t.Fatalf("refused after the refill: %v", w)
	}
	if w := b.Take("b", 4); w != 0 {
		t.Fatalf("another key refused: %v", w)
	}
}

func TestSeen(t *testing.T) {
	clk := clock.NewFake(time.Unix(1000, 0))
	s := NewSeen(time.Hour, 2, clk)
	s.Add("a")
	if !s.Has("a") || s.Has("b") {
		t.Fatal("Has")
	}
	clk.Advance(time.Minute)
	s.Add("b")
	s.Add("c") // full: the oldest goes
	if s.Has("a") || !s.Has("b") || !s.Has("c") {
		t.Fatal("pruning")
	}
	clk.Advance(time.Hour)
	if s.Has("b") {
		t.Fatal("kept past the ttl")
	}
}
