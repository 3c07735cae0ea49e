//go:build race

package duet_test

// raceEnabled: the race detector slows Go's pixel loops (drawing, scaling) roughly tenfold,
// so tests that measure how much video flows expect less of it.
const raceEnabled = true
