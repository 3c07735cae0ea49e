// Package protocol defines duet's wire protocol: versioned JSON messages carried over one
// WebSocket per device, the seed's enums with their numbers, and the error codes.
//
// Every frame is one Envelope. A request carries an ID; its reply is an Envelope of type
// TypeReply with the same ID and either Data or Error. Messages without an ID are one-way.
// docs/PROTOCOL.md is the readable description of everything defined here.
package protocol

// Version is the newest protocol version this package speaks, and MinVersion the oldest.
// A client lists the versions it speaks in Hello; the server picks the newest one it also
// speaks and names it in Welcome. A client whose every version is older than the server's
// oldest is refused with CodeUpgradeRequired, one whose every version is newer than the
// server's newest with CodeUnsupportedVersion (see Negotiate).
const (
	Version    = 1
	MinVersion = 1
)

// MaxFrameBytes is the largest frame either side accepts. Larger frames close the connection.
const MaxFrameBytes = 64 << 10
