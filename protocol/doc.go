// Package protocol defines duet's wire protocol: versioned JSON messages carried over one
// WebSocket per device, the seed's enums with their numbers, and the error codes.
//
// Every frame is one Envelope. A request carries an ID; its reply is an Envelope of type
// TypeReply with the same ID and either Data or Error. Messages without an ID are one-way.
// docs/PROTOCOL.md is the readable description of everything defined here.
package protocol

// Version is the protocol version this package speaks. The client names it in Hello and the
// server refuses versions it does not know with CodeUnsupportedVersion.
const Version = 1

// MaxFrameBytes is the largest frame either side accepts. Larger frames close the connection.
const MaxFrameBytes = 64 << 10
