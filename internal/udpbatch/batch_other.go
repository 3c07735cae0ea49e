//go:build !linux

package udpbatch

// batching: elsewhere golang.org/x/net's ReadBatch and WriteBatch move one datagram a call
// (or none, on Windows), so a Conn uses the socket directly.
const batching = false
