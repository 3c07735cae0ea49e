//go:build !race

package duet_test

// raceEnabled: see race_on_test.go.
const raceEnabled = false
