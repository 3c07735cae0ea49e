// Package callflow is the server's call state machine: it decides every 1-on-1 call from
// invite to end. It is handed device presence (DeviceOnline, DeviceOffline) and decoded
// call requests (Invite, Answer, End, Signal, Connect, Stream; server/callflow/wire decodes
// them from the wire), and it hands everything it decides to an Output as Steps: messages
// for devices (replies included), the durable State of every live call that changed, the
// Record of every call that ended and the call Events. It is pure and clock-injected: no
// I/O, no store and no wire encoding of its own, timers from a clock.Clock, so tests drive
// it with clock.Fake. Persistence happens around it: the server stores each Step's State,
// Records and Events before it delivers the Step's messages, and on start gives the stored
// States back to Restore (rule 16).
//
// # States
//
//	invite ─┬─ callee unknown 204 · self 905 · caller in a call 801 (no call)
//	        ├─ callee offline, nothing pushed ─────────────────────► ended RemoteOffline (reply 802)
//	        ├─ callee in a call ───────────────────────────────────► ended Busy
//	        ├─ no online device can take the type ─────────────────► ended Unsupported
//	        │  otherwise (callee offline but pushed: call.offline first)
//	        ▼
//	     ringing ◄── callee devices (re)connecting are rung
//	        ├─ ring timeout ───────────────────────────────────────► ended NoResponse
//	        ├─ caller cancels / a ringing device declines ─────────► ended (reason as sent)
//	        ├─ caller device lost, grace runs out ─────────────────► ended Failed
//	        │  answer from a ringing device (first wins), or glare
//	        ▼
//	     accepted
//	        ├─ either device ends ─────────────────────────────────► ended (reason as sent)
//	        └─ either device lost, grace runs out ─────────────────► ended Failed
//
// # Rules
//
// Parties are users of one app; usernames compare case-insensitively. A user is party to at
// most one live call. "The caller device" is the device that invited; "ringing devices" are
// the callee's devices that were sent call.incoming and have not left; after accept the
// callee's only device in the call is the answering one.
//
//  1. invite: the callee must exist (204) and not be the caller (905); the caller must not be
//     in a live call, as caller or callee, on any device (801), except for glare (rule 7).
//     The reply is CallInvited{callId, iceServers}. It goes out ahead of the events the
//     invite causes, so the caller knows the id before any of them; the replies to the other
//     requests follow what they caused.
//  2. A callee already in a live call makes the call end Busy at once: the reply carries the
//     id, then call.ended{reason:3} follows.
//  3. A callee without an online device: if the invite asks for a push and a Pusher is
//     configured, the reply carries the id at once and the push runs meanwhile (the caller
//     may cancel). When the Pusher reports one went out, the caller gets call.offline and the
//     call rings until the ring timeout; devices that connected meanwhile are rung. When
//     none went out the call ends RemoteOffline (call.ended{reason:6}). Without a push asked
//     or configured the reply is error 802 and no call id is given (the call is still
//     recorded, RemoteOffline).
//  4. Ringing: every online callee device that can take the type (video needs
//     Capabilities.Video; voice rings every device) gets call.incoming, and the caller device
//     gets one call.ringing{device} per rung device, to pre-connect with each. When none can
//     take it the call ends Unsupported. The ring timer (RingTimeout, default 45s) ends an
//     unanswered call NoResponse for the caller and every ringing device.
//  5. answer from a ringing device: the first wins. call.accepted{device} goes to the caller
//     device and the answering device; the other ringing devices get call.ended{reason:10,
//     answered elsewhere}. An answer from any other device, for an unknown, accepted or ended
//     call, is error 800.
//  6. end{reason} from the caller device or a callee device in the call ends it for the other
//     devices in the call with call.ended{reason, by}; the reason is forwarded as sent (any
//     client reason, e.g. Hangup to cancel, Decline or Busy from a ringing device; the other
//     ringing devices get the same reason). The ender gets only the reply. end is idempotent:
//     a party ending an ended call, or a callee device that has left the call, gets ok and
//     nothing happens; anyone else gets 800.
//  7. Glare: when A invites B from a device that is being rung by B's call to A, the earlier
//     invite wins and the later one answers it: the reply is CallInvited{callId of B's call,
//     glare:true} and the call proceeds as if that device had answered (rule 5). The server
//     handles one invite at a time, so which one is earlier is well defined. B's call keeps
//     its type and ext.
//  8. call.signal is relayed only between the caller device and a callee device in the call:
//     from the caller to the ringing (or answering) device named in Device, from a callee
//     device always to the caller device. Device is rewritten to the sender's device id.
//     Anything else is 800. Relays get no reply unless the request has an id.
//  9. call.connect from a device in the call sets ConnectedAt (the first time) and
//     ConnectType (the latest report). Nothing is relayed.
//  10. call.stream is relayed between the two devices of an accepted call; otherwise 800.
//  11. A lost connection: a ringing device just stops ringing (nobody is told; the ring timer
//     decides). A lost caller device or answering device starts the reconnect grace
//     (ReconnectGrace, default 30s) and the other side's devices get call.peer{present:false};
//     when the grace runs out the call ends Failed for them.
//  12. A (re)connected device: a party coming back within its grace stops it; the other side
//     gets call.peer{present:true} (and the returning device call.peer{present:false} if the
//     other side is away too). The caller device also gets again what it could not be sent
//     meanwhile: call.ringing of devices still ringing, call.accepted. A callee device that is
//     not ringing a ringing call is rung (so is a ringing device that dropped and came back:
//     both ends restart that pre-connection). Every resumed call id the device is not in gets
//     call.ended: with the call's own reason and by when it is remembered (answered-elsewhere
//     for a callee device that another device beat), Failed when unknown.
//  13. DeviceOnline for a device already in order (a replaced connection) changes nothing.
//  14. Every call that got an id is recorded exactly once when it ends, including those that
//     end at invite time (busy, offline, unsupported). EndedBy is "" when the server ended
//     it.
//  15. Ended calls leave memory at once; only a bounded memory of recently ended calls
//     (at most twice the longer of RingTimeout and ReconnectGrace old, and 16384 entries)
//     remains, for rules 6 and 12: a device away for its whole grace still learns how its
//     call ended.
//  16. Restore takes live calls over from their State (after a restart) before any device
//     connects. The caller device, and after accept the answering device, are away with a
//     fresh ReconnectGrace from the restore (rules 11 and 12 go on from there; call.accepted
//     is sent again to each when it returns, since a crash may have come between the
//     accept and its delivery); the callee devices of a ringing call are rung again as they
//     connect, and its ring deadline stays (one that passed ends it NoResponse at once). A
//     Damaged State, or one clashing with a call restored before it, ends Failed at once.
//
// # Events
//
// Step.Events reports every call step by step (Event): invited (the call got
// an id; every call that is recorded has it), offline (pushed to an offline callee, still
// ringing), ringing (the first callee device rang), connected (the first transport report),
// accepted, and ended with the call's record. Each step happens at most once per call, and
// Event.Seq numbers a call's events 1, 2, ... in order. The webhook outbox and the cancel
// push of a pushed call are built on it.
//
// # Concurrency
//
// One mutex guards the state. Users.Exists, ICEServers and NewID run before it is taken, the
// Pusher between two locked sections. Each locked section collects what it decides in one
// Step and hands it to Output.Apply before it unlocks, so Steps arrive in decision order;
// Apply and the Directory are called under the lock, so they must not block or call back
// into the Engine. A timer callback checks a generation number, since a timer can fire while
// it is being stopped.
package callflow
