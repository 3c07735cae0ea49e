package duet

import (
	"context"
	"image"

	"github.com/duet-rtc/duet/internal/rtc"
	"github.com/duet-rtc/duet/internal/vpx"
	"github.com/duet-rtc/duet/internal/yuv"
	"github.com/duet-rtc/duet/media"
	"github.com/duet-rtc/duet/protocol"
)

// TakeLocalVideoPicture saves the picture this device is sending in call callID to path,
// as PNG or JPEG by its extension (.png, .jpg, .jpeg): takeLocalVideoPictureWithCallId:.
// For video the SDK encodes (custom video, media.TestPattern) it is the last frame encoded,
// watermark included; for a file source it is the last keyframe sent, decoded. Decoding needs
// the vpx build tag (ErrNoVPX without it).
func (m *CallManager) TakeLocalVideoPicture(callID, path string) error {
	s, p, err := m.videoCall(callID)
	if err != nil {
		return err
	}
	s.mu.Lock()
	src := s.videoSrc
	s.mu.Unlock()
	var img *image.YCbCr
	if enc, ok := src.(media.VideoEncoder); ok {
		img = enc.LastPicture()
	} else if key := p.LastSentKeyframe(); key != nil {
		if img, err = decodeVP8(key); err != nil {
			return err
		}
	}
	if img == nil {
		return &Error{Code: protocol.CodeGeneral, Message: "no local picture yet: nothing has been sent"}
	}
	return savePicture(path, img)
}

// TakeRemoteVideoPicture saves the picture the peer is sending in call callID to path, as
// PNG or JPEG by its extension: takeRemoteVideoPictureWithCallId:. It asks the peer for a
// keyframe (RTCP PLI), decodes the first one that arrives with libvpx, and saves it, so it
// waits about a round trip and a frame; ctx bounds the wait (a peer that paused its video
// sends none). It needs the vpx build tag (ErrNoVPX without it).
func (m *CallManager) TakeRemoteVideoPicture(ctx context.Context, callID, path string) error {
	if !vpx.Available {
		return ErrNoVPX
	}
	_, p, err := m.videoCall(callID)
	if err != nil {
		return err
	}
	key, err := p.CaptureKeyframe(ctx)
	if err != nil {
		return &Error{Code: protocol.CodeGeneral, Message: "no remote picture: " + err.Error()}
	}
	img, err := decodeVP8(key)
	if err != nil {
		return err
	}
	return savePicture(path, img)
}

// videoCall returns the session and media connection of an accepted video call.
func (m *CallManager) videoCall(callID string) (*CallSession, *rtc.Peer, error) {
	s := m.Session(callID)
	if s == nil {
		return nil, nil, &Error{Code: protocol.CodeCallInvalidID, Message: "no call " + callID}
	}
	if s.callType != CallTypeVideo {
		return nil, nil, &Error{Code: protocol.CodeGeneral, Message: "a voice call has no pictures"}
	}
	p := s.activePeer()
	if p == nil || s.Status() != CallStatusAccepted {
		return nil, nil, &Error{Code: protocol.CodeGeneral, Message: "the call's video is not flowing yet"}
	}
	return s, p, nil
}

// decodeVP8 decodes one keyframe.
func decodeVP8(frame []byte) (*image.YCbCr, error) {
	dec, err := vpx.NewDecoder()
	if err != nil {
		return nil, err
	}
	defer dec.Close()
	img, err := dec.Decode(frame)
	if err != nil {
		return nil, &Error{Code: protocol.CodeGeneral, Message: "decode picture: " + err.Error()}
	}
	if img == nil {
		return nil, &Error{Code: protocol.CodeGeneral, Message: "the keyframe decoded to no picture"}
	}
	return img, nil
}

func savePicture(path string, img image.Image) error {
	if err := yuv.Save(path, img); err != nil {
		return &Error{Code: protocol.CodeGeneral, Message: err.Error()}
	}
	return nil
}
