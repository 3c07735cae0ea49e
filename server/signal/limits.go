package signal

// tokenBucket limits the frames one connection may send: rate tokens a second, at most burst
// at once. It is used by the connection's reader only.
type tokenBucket struct {
	tokens float64
	last   int64 // unix nanoseconds of the last refill
	// refused counts frames refused since the bucket was last full: a device that pauses
	// long enough to refill it is forgiven, one that keeps pushing is closed.
	refused int
}

// allow takes a token at now (unix nanoseconds) and reports whether there was one.
func (b *tokenBucket) allow(now int64, rate float64, burst int) bool {
	if rate < 0 {
		return true
	}
	if elapsed := now - b.last; elapsed > 0 {
		b.tokens += float64(elapsed) * rate / 1e9
		b.last = now
	}
	if b.tokens >= float64(burst) {
		b.tokens = float64(burst)
		b.refused = 0
	}
	if b.tokens < 1 {
		b.refused++
		return false
	}
	b.tokens--
	return true
}
