// Package quality holds the SDK's pure decision logic about a call's network: the
// network-status state machine behind CallNetworkDidChange (Monitor) and the video sender's
// target bitrate (RateController). Neither reads a clock or starts a goroutine: callers pass
// the time with every input, so tests drive them through any timeline deterministically.
package quality
