// Package turn is duet's embedded TURN server (RFC 8656), built on pion/turn.
//
// pion/turn does the protocol: authentication, allocations, permissions, channel bindings
// and their lifetimes. This package adds what a call platform needs around it:
//
//   - short-lived credentials in the TURN REST API style, issued per call and per party
//     (Credentials), so a leaked credential is worth one user for a few minutes;
//   - relay sockets bound to one configured IP within a configured port range, and a peer
//     policy (PeerPolicy) so that nobody can use the relay to reach the server's own
//     network;
//   - a per-user allocation quota;
//   - several UDP listeners on one port (SO_REUSEPORT where the system has it) and a TCP
//     listener, all closed and waited for by Close;
//   - Prometheus metrics (allocations, relayed packets and bytes).
//
// Only UDP relays are offered: TCP relays (RFC 6062) are refused, since WebRTC never asks
// for them and they would let a client open TCP connections from the server.
package turn
