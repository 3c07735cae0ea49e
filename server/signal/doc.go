// Package signal is the device side of the server: the WebSocket endpoint every device (Go SDK,
// browser SDK) holds open, one socket per device, speaking the JSON protocol of package protocol.
//
// A Hub authenticates each connection with its first frame (hello), keeps the directory of
// online devices (route.Directory), delivers messages to them (route.Sender), answers
// heartbeats and drops silent or abusive devices. Everything else a device says goes to the
// Handler, which is the call flow. What the handler sends to a device while handling one of
// its frames arrives before the reply to that frame.
//
// Memory is the cost that grows with the number of devices, so an idle connection is kept
// small (about 10 KiB; see BenchmarkIdleConnMemory):
//   - ServeHTTP returns right after the upgrade, which lets net/http free its per-request
//     state, and the socket gets 1 KiB read and write buffers; larger frames bypass them.
//   - One goroutine per connection, the reader. It waits for the socket to become readable
//     a few frames deep, not inside the WebSocket library, so that its stack shrinks to
//     4 KiB. It writes its own replies; what other goroutines send is written by a writer
//     goroutine that exists only while frames are waiting.
//   - One timer per connection: a frame from the device only stores a timestamp, and the
//     timer re-arms itself at the deadline from the last time the device was heard.
//   - No compression (its per-connection state is large) and nothing queued while idle.
package signal
