package protocol

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
)

// Envelope is one frame on the device connection.
type Envelope struct {
	// Type names the message; see the Type constants.
	Type string `json:"type"`
	// ID is set on requests and echoed on their reply. At most 64 bytes.
	ID string `json:"id,omitempty"`
	// Data is the message body, decoded according to Type.
	Data json.RawMessage `json:"data,omitempty"`
	// Error is set on failed replies and on unsolicited errors.
	Error *Error `json:"error,omitempty"`
}

var typePattern = regexp.MustCompile(`^[a-z][a-z.]{0,31}$`)

// DecodeEnvelope parses one frame. Unknown fields are ignored, so that a peer one version
// ahead may add some (docs/PROTOCOL.md, "Compatibility"); everything else is strict:
// invalid UTF-8, a duplicate key, trailing data, a missing or malformed type, an over-long
// id, a non-object data and over-size frames are errors with CodeBadMessage. It never panics, whatever the input.
func DecodeEnvelope(frame []byte) (*Envelope, error) {
	if len(frame) > MaxFrameBytes {
		return nil, NewError(CodeBadMessage, "frame of %d bytes exceeds %d", len(frame), MaxFrameBytes)
	}
	if err := checkWellFormed(frame); err != nil {
		return nil, NewError(CodeBadMessage, "malformed frame: %v", err)
	}
	var env Envelope
	if err := decodeJSON(frame, &env); err != nil {
		return nil, NewError(CodeBadMessage, "malformed envelope: %v", err)
	}
	if !typePattern.MatchString(env.Type) {
		return nil, NewError(CodeBadMessage, "missing or malformed type")
	}
	if len(env.ID) > 64 {
		return nil, NewError(CodeBadMessage, "id longer than 64 bytes")
	}
	if len(env.Data) > 0 && env.Data[0] != '{' {
		return nil, NewError(CodeBadMessage, "data must be an object")
	}
	return &env, nil
}

// DecodeData decodes env.Data into v and runs v's Check, if it has one. Unknown fields are
// ignored; a field of the wrong type, or one Check refuses, is an error with CodeBadMessage
// (or the code Check chose). A missing Data decodes as an empty object.
func (env *Envelope) DecodeData(v any) error {
	data := []byte(env.Data)
	if len(data) == 0 {
		data = []byte("{}")
	}
	if err := decodeJSON(data, v); err != nil {
		return NewError(CodeBadMessage, "bad %s body: %v", env.Type, err)
	}
	if c, ok := v.(interface{ Check() error }); ok {
		return c.Check()
	}
	return nil
}

// decodeJSON decodes one JSON value into v, ignoring unknown fields, and refuses anything
// after it.
func decodeJSON(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("trailing data after the object")
	}
	return nil
}

// NewMessage builds an envelope with body v. v must marshal (all protocol types do).
func NewMessage(typ, id string, v any) *Envelope {
	env := &Envelope{Type: typ, ID: id}
	if v != nil {
		b, err := json.Marshal(v)
		if err != nil {
			// Only a programming error reaches here: protocol bodies are plain structs.
			env.Error = NewError(CodeGeneral, "encode %s: %v", typ, err)
		} else {
			env.Data = b
		}
	}
	return env
}

// NewReply builds the successful reply to request id.
func NewReply(id string, v any) *Envelope { return NewMessage(TypeReply, id, v) }

// NewErrorReply builds a failed reply to request id (or an unsolicited error when id is "").
func NewErrorReply(id string, err error) *Envelope {
	e, ok := err.(*Error)
	if !ok {
		e = &Error{Code: CodeOf(err), Message: err.Error()}
	}
	if id == "" {
		return &Envelope{Type: TypeError, Error: e}
	}
	return &Envelope{Type: TypeReply, ID: id, Error: e}
}

// Encode marshals the envelope to one frame.
func (env *Envelope) Encode() ([]byte, error) { return json.Marshal(env) }

// DecodeDataLoose decodes env.Data into v, ignoring unknown fields, without v's Check.
// Clients use it for server messages, whose ranges they check where they use them.
func (env *Envelope) DecodeDataLoose(v any) error {
	if len(env.Data) == 0 {
		return nil
	}
	if err := json.Unmarshal(env.Data, v); err != nil {
		return NewError(CodeBadMessage, "bad %s body: %v", env.Type, err)
	}
	return nil
}
