// Package signal is the device side of the server: the WebSocket endpoint every device (Go SDK,
// browser SDK) holds open, one socket per device, speaking the JSON protocol of package protocol.
//
// A Hub authenticates each connection with its first frame (hello), keeps the directory of
// online devices (route.Directory), delivers messages to them (route.Sender), answers
// heartbeats and drops silent or abusive devices. Everything else a device says goes to the
// Handler, which is the call flow.
//
// Each connection costs two goroutines at most: a reader, started by ServeHTTP once the
// socket is upgraded, and a writer, started only while frames are waiting to go out, so an
// idle device has just its reader. ServeHTTP returns right after the upgrade, which lets
// net/http free its per-request buffers, and the socket's read and write buffers are 1 KiB
// each; frames larger than that bypass them. Heartbeats cost no work per frame beyond storing
// a timestamp: one timer per connection fires at the deadline and re-arms itself from the
// last time the device was heard.
package signal
