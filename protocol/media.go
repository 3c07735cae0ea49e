package protocol

// Recorded calls. A call invited with record: true goes through the server's media relay:
// each party's device has one peer connection to the server instead of one to the other
// party. The device offers with a call.media request; the reply carries the server's answer
// and the call's serverVideoId; candidates trickle both ways as call.media messages without
// an id. call.media is never relayed to the other party.
const (
	// TypeCallMedia is both ways: CallMedia between a device and the server's media relay.
	// c→s with a description (an offer) is a request; its reply is CallMedia with the answer.
	TypeCallMedia = "call.media"
)

// MaxServerVideoIDBytes bounds a serverVideoId.
const MaxServerVideoIDBytes = 64

// CallMedia carries an SDP offer (device → server, a request), the answer (in the reply) or
// one ICE candidate (either way, no reply) between a device and the server's media relay in
// a recorded call. ServerVideoID is set by the server in the reply: the id of the call's
// recordings (the seed's serverVideoId), the same for both parties.
type CallMedia struct {
	CallID        string              `json:"callId"`
	Description   *SessionDescription `json:"description,omitempty"`
	Candidate     *ICECandidate       `json:"candidate,omitempty"`
	ServerVideoID string              `json:"serverVideoId,omitempty"`
}

// Check validates a CallMedia from a device: exactly one of an offer or a candidate, and no
// serverVideoId (that is the server's to give).
func (c *CallMedia) Check() error {
	if err := checkCallID(c.CallID); err != nil {
		return err
	}
	if (c.Description == nil) == (c.Candidate == nil) {
		return NewError(CodeBadMessage, "call.media carries exactly one of description or candidate")
	}
	if d := c.Description; d != nil {
		if d.Type != "offer" {
			return NewError(CodeBadMessage, "a device offers to the media relay: description type must be offer")
		}
		if len(d.SDP) == 0 || len(d.SDP) > MaxSDPBytes {
			return NewError(CodeBadMessage, "sdp must be 1-%d bytes", MaxSDPBytes)
		}
	}
	if c.Candidate != nil && len(c.Candidate.Candidate) > MaxCandidate {
		return NewError(CodeBadMessage, "candidate longer than %d bytes", MaxCandidate)
	}
	if c.ServerVideoID != "" {
		return NewError(CodeBadMessage, "serverVideoId is set by the server")
	}
	return nil
}
