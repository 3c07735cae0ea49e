// Package duet is the Go client SDK of duet, a self-hostable 1-on-1 audio/video calling
// platform. It mirrors the Easemob/Hyphenate "1v1 call" SDK: a Client logs a device in,
// its CallManager starts, answers and ends calls, and delegates receive the seed's
// callbacks (CallDidReceive, CallDidConnect, CallDidAccept, CallDidEnd, ...).
//
// A minimal caller:
//
//	c, _ := duet.NewClient(duet.Options{AppKey: "demo#duet", ServerURL: "http://127.0.0.1:8080"})
//	_ = c.Login(ctx, "alice", "secret")
//	session, err := c.CallManager().StartCall(ctx, duet.CallTypeVideo, "bob", "")
//
// The server owns policy: ring timeout, busy, offline and multi-device ringing are decided
// there, so an app never writes ring timers or busy replies itself.
package duet
