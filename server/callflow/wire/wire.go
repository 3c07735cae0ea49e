// Package wire puts the call flow on the wire: it decodes the call.* requests a device sends
// into the Engine's requests (Requests) and encodes the Engine's Messages into envelopes
// (Encode). The state machine in server/callflow never sees a byte of JSON.
package wire

import (
	"github.com/duet-rtc/duet/protocol"
	"github.com/duet-rtc/duet/server/callflow"
	"github.com/duet-rtc/duet/server/route"
)

// Requests decodes call.* envelopes for an Engine. It is the hub's handler for calls.
type Requests struct {
	Engine *callflow.Engine
}

// HandleMessage decodes env and hands it to the engine. It returns an error reply for an
// envelope it cannot decode or does not know, and nil otherwise: the engine's reply leaves
// through its Output, in order with what the request caused.
func (r Requests) HandleMessage(dev route.Device, env *protocol.Envelope) *protocol.Envelope {
	if env == nil {
		return protocol.NewErrorReply("", protocol.NewError(protocol.CodeBadMessage, "empty message"))
	}
	if err := r.dispatch(dev, env); err != nil {
		return protocol.NewErrorReply(env.ID, err)
	}
	return nil
}

func (r Requests) dispatch(dev route.Device, env *protocol.Envelope) error {
	e := r.Engine
	switch env.Type {
	case protocol.TypeCallInvite:
		var v protocol.CallInvite
		return decoded(env, &v, func() { e.Invite(dev, env.ID, v) })
	case protocol.TypeCallAnswer:
		var v protocol.CallRef
		return decoded(env, &v, func() { e.Answer(dev, env.ID, v.CallID) })
	case protocol.TypeCallEnd:
		var v protocol.CallEnd
		return decoded(env, &v, func() { e.End(dev, env.ID, v) })
	case protocol.TypeCallSignal:
		var v protocol.CallSignal
		return decoded(env, &v, func() { e.Signal(dev, env.ID, v) })
	case protocol.TypeCallConnect:
		var v protocol.CallConnect
		return decoded(env, &v, func() { e.Connect(dev, env.ID, v) })
	case protocol.TypeCallStream:
		var v protocol.CallStream
		return decoded(env, &v, func() { e.Stream(dev, env.ID, v) })
	}
	return protocol.NewError(protocol.CodeUnknownMessage, "unknown message type %q", env.Type)
}

// decoded decodes env's body into v (strictly, with v's own checks) and runs handle.
func decoded(env *protocol.Envelope, v any, handle func()) error {
	if err := env.DecodeData(v); err != nil {
		return err
	}
	handle()
	return nil
}

// Encode builds the envelope of m.
func Encode(m callflow.Message) *protocol.Envelope {
	switch {
	case m.Err != nil:
		return protocol.NewErrorReply(m.ReplyTo, m.Err)
	case m.Type == protocol.TypeReply:
		return protocol.NewReply(m.ReplyTo, m.Body)
	}
	return protocol.NewMessage(m.Type, "", m.Body)
}
