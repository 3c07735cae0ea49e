package protocol

import (
	"strings"
	"testing"
)

func TestChatAndPushChecks(t *testing.T) {
	long := strings.Repeat("x", MaxMessageTextBytes+1)
	cases := []struct {
		name string
		typ  string
		data string
		code ErrorCode // 0: valid
	}{
		{"send", TypeChatSend, `{"to":"bob","text":"hi"}`, 0},
		{"send with id and ext", TypeChatSend, `{"id":"m-1","to":"bob","text":"hi","ext":{"em_apns_ext":{"em_push_title":"t"}}}`, 0},
		{"send null ext", TypeChatSend, `{"to":"bob","text":"hi","ext":null}`, 0},
		{"send bad to", TypeChatSend, `{"to":"b b","text":"hi"}`, CodeInvalidUsername},
		{"send empty text", TypeChatSend, `{"to":"bob","text":""}`, CodeBadMessage},
		{"send long text", TypeChatSend, `{"to":"bob","text":"` + long + `"}`, CodeBadMessage},
		{"send ext array", TypeChatSend, `{"to":"bob","text":"hi","ext":[1]}`, CodeBadMessage},
		{"send ext string", TypeChatSend, `{"to":"bob","text":"hi","ext":"x"}`, CodeBadMessage},
		{"send long ext", TypeChatSend, `{"to":"bob","text":"hi","ext":{"k":"` + long + `"}}`, CodeBadMessage},
		{"send bad id", TypeChatSend, `{"id":"a b","to":"bob","text":"hi"}`, CodeBadMessage},
		{"send unknown field ignored", TypeChatSend, `{"to":"bob","text":"hi","x":1}`, 0},
		{"ack", TypeChatAck, `{"upTo":3}`, 0},
		{"ack negative", TypeChatAck, `{"upTo":-1}`, CodeBadMessage},
		{"bind apns voip", TypePushBind, `{"provider":"apns","token":"abcd","voip":true,"topic":"com.example.app"}`, 0},
		{"bind fcm", TypePushBind, `{"provider":"fcm","token":"f:1"}`, 0},
		{"bind webhook", TypePushBind, `{"provider":"webhook","token":"reg-1"}`, 0},
		{"bind unknown provider", TypePushBind, `{"provider":"gcm","token":"x"}`, CodeBadMessage},
		{"bind empty token", TypePushBind, `{"provider":"fcm","token":""}`, CodeBadMessage},
		{"bind token with space", TypePushBind, `{"provider":"fcm","token":"a b"}`, CodeBadMessage},
		{"bind voip on fcm", TypePushBind, `{"provider":"fcm","token":"x","voip":true}`, CodeBadMessage},
		{"bind bad topic", TypePushBind, `{"provider":"apns","token":"x","topic":"a/b"}`, CodeBadMessage},
		{"unbind all", TypePushUnbind, `{}`, 0},
		{"unbind one", TypePushUnbind, `{"provider":"apns","token":"x"}`, 0},
		{"unbind bad provider", TypePushUnbind, `{"provider":"x"}`, CodeBadMessage},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			env, err := DecodeEnvelope([]byte(`{"type":"` + c.typ + `","data":` + c.data + `}`))
			if err != nil {
				t.Fatalf("envelope: %v", err)
			}
			var body any
			switch c.typ {
			case TypeChatSend:
				body = new(ChatSend)
			case TypeChatAck:
				body = new(ChatAck)
			case TypePushBind:
				body = new(PushBind)
			case TypePushUnbind:
				body = new(PushUnbind)
			}
			err = env.DecodeData(body)
			if got := CodeOf(err); got != c.code {
				t.Fatalf("code %d (%v), want %d", got, err, c.code)
			}
		})
	}
}

// FuzzChatBodies: no input makes the message and push decoders panic.
func FuzzChatBodies(f *testing.F) {
	f.Add(`{"to":"bob","text":"hi","ext":{"a":1}}`)
	f.Add(`{"provider":"apns","token":"x","voip":true}`)
	f.Add(`{"upTo":1}`)
	f.Fuzz(func(t *testing.T, data string) {
		env := &Envelope{Type: TypeChatSend, Data: []byte(data)}
		for _, b := range []any{new(ChatSend), new(ChatAck), new(PushBind), new(PushUnbind), new(ChatMessage)} {
			_ = env.DecodeData(b)
		}
	})
}
