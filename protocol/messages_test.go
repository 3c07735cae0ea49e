package protocol

import (
	"strings"
	"testing"
)

// checker is a message body with a Check method.
type checker interface{ Check() error }

func TestCheck(t *testing.T) {
	u16 := func(v uint16) *uint16 { return &v }
	str := func(s string) *string { return &s }
	okHello := func() *Hello { return &Hello{Version: 1, Token: "t", DeviceID: "ios-1:a_b.c"} }
	offer := &SessionDescription{Type: "offer", SDP: "v=0"}
	cand := &ICECandidate{Candidate: "candidate:1 1 udp 1 127.0.0.1 9 typ host", SDPMid: str("0"), SDPMLineIndex: u16(0)}
	tests := []struct {
		name string
		msg  checker
		code ErrorCode // 0: valid
	}{
		{"hello", okHello(), 0},
		{"hello with calls and ping", &Hello{Version: 1, Token: "t", DeviceID: "d", PingInterval: 10, Calls: []string{"a", "b"}}, 0},
		{"hello ping 3600", &Hello{Version: 1, Token: "t", DeviceID: "d", PingInterval: 3600}, 0},
		{"hello no token", &Hello{Version: 1, DeviceID: "d"}, CodeInvalidToken},
		{"hello long token", &Hello{Version: 1, Token: strings.Repeat("t", 257), DeviceID: "d"}, CodeInvalidToken},
		{"hello no device", &Hello{Version: 1, Token: "t"}, CodeBadMessage},
		{"hello bad device", &Hello{Version: 1, Token: "t", DeviceID: "a/b"}, CodeBadMessage},
		{"hello long device", &Hello{Version: 1, Token: "t", DeviceID: strings.Repeat("d", 65)}, CodeBadMessage},
		{"hello ping 9", &Hello{Version: 1, Token: "t", DeviceID: "d", PingInterval: 9}, CodeBadMessage},
		{"hello ping 3601", &Hello{Version: 1, Token: "t", DeviceID: "d", PingInterval: 3601}, CodeBadMessage},
		{"hello 9 calls", &Hello{Version: 1, Token: "t", DeviceID: "d", Calls: make([]string, 9)}, CodeBadMessage},
		{"hello empty call id", &Hello{Version: 1, Token: "t", DeviceID: "d", Calls: []string{""}}, CodeCallInvalidID},

		{"invite", &CallInvite{To: "bob", Type: CallVideo, Ext: strings.Repeat("e", MaxExtBytes)}, 0},
		{"invite bad callee", &CallInvite{To: "bob smith", Type: CallVoice}, CodeInvalidUsername},
		{"invite no callee", &CallInvite{Type: CallVoice}, CodeInvalidUsername},
		{"invite callee of 65 bytes", &CallInvite{To: strings.Repeat("a", 65), Type: CallVoice}, CodeUsernameTooLong},
		{"invite callee of 64 bytes", &CallInvite{To: strings.Repeat("a", 64), Type: CallVoice}, 0},
		{"invite bad type", &CallInvite{To: "bob", Type: 2}, CodeBadMessage},
		{"invite long ext", &CallInvite{To: "bob", Ext: strings.Repeat("e", MaxExtBytes+1)}, CodeBadMessage},
		{"invite long offline text", &CallInvite{To: "bob", OfflineText: strings.Repeat("e", MaxExtBytes+1)}, CodeBadMessage},

		{"ref", &CallRef{CallID: "c"}, 0},
		{"ref empty", &CallRef{}, CodeCallInvalidID},
		{"ref long", &CallRef{CallID: strings.Repeat("c", 65)}, CodeCallInvalidID},
		{"ref invalid utf-8", &CallRef{CallID: "\xff"}, CodeCallInvalidID},

		{"end hangup", &CallEnd{CallID: "c", Reason: EndHangup}, 0},
		{"end decline", &CallEnd{CallID: "c", Reason: EndDecline}, 0},
		{"end busy", &CallEnd{CallID: "c", Reason: EndBusy}, 0},
		{"end remote offline", &CallEnd{CallID: "c", Reason: EndRemoteOffline}, CodeBadMessage},
		{"end answered elsewhere", &CallEnd{CallID: "c", Reason: EndAnsweredElsewhere}, CodeBadMessage},
		{"end no call", &CallEnd{Reason: EndHangup}, CodeCallInvalidID},

		{"signal offer", &CallSignal{CallID: "c", Device: "d", Description: offer}, 0},
		{"signal candidate", &CallSignal{CallID: "c", Candidate: cand}, 0},
		{"signal offer asking for warm-up video", &CallSignal{CallID: "c", Device: "d", Description: offer, WarmVideo: true}, 0},
		{"signal warm-up video with a candidate", &CallSignal{CallID: "c", Candidate: cand, WarmVideo: true}, CodeBadMessage},
		{"signal end of candidates", &CallSignal{CallID: "c", Candidate: &ICECandidate{}}, 0},
		{"signal both", &CallSignal{CallID: "c", Description: offer, Candidate: cand}, CodeBadMessage},
		{"signal neither", &CallSignal{CallID: "c"}, CodeBadMessage},
		{"signal bad sdp type", &CallSignal{CallID: "c", Description: &SessionDescription{Type: "pranswer", SDP: "v=0"}}, CodeBadMessage},
		{"signal empty sdp", &CallSignal{CallID: "c", Description: &SessionDescription{Type: "answer"}}, CodeBadMessage},
		{"signal huge sdp", &CallSignal{CallID: "c", Description: &SessionDescription{Type: "answer", SDP: strings.Repeat("s", MaxSDPBytes+1)}}, CodeBadMessage},
		{"signal long candidate", &CallSignal{CallID: "c", Candidate: &ICECandidate{Candidate: strings.Repeat("c", MaxCandidate+1)}}, CodeBadMessage},
		{"signal long device", &CallSignal{CallID: "c", Device: strings.Repeat("d", 65), Candidate: cand}, CodeBadMessage},
		{"signal no call", &CallSignal{Description: offer}, CodeCallInvalidID},

		{"connect", &CallConnect{CallID: "c", ConnectType: ConnectRelay}, 0},
		{"connect bad type", &CallConnect{CallID: "c", ConnectType: 3}, CodeBadMessage},
		{"connect negative type", &CallConnect{CallID: "c", ConnectType: -1}, CodeBadMessage},

		{"stream", &CallStream{CallID: "c", Status: StreamVideoResume}, 0},
		{"stream bad status", &CallStream{CallID: "c", Status: 4}, CodeBadMessage},
		{"stream no call", &CallStream{Status: StreamVoicePause}, CodeCallInvalidID},

		{"goodbye", &Goodbye{Reason: GoodbyeRestart}, 0},
		{"goodbye retry after", &Goodbye{Reason: GoodbyeRestart, RetryAfter: 1000}, 0},
		{"goodbye retry after max", &Goodbye{RetryAfter: MaxRetryAfterMillis}, 0},
		{"goodbye retry after over max", &Goodbye{RetryAfter: MaxRetryAfterMillis + 1}, CodeBadMessage},
		{"goodbye negative retry after", &Goodbye{RetryAfter: -1}, CodeBadMessage},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.msg.Check()
			if got := CodeOf(err); got != tc.code {
				t.Fatalf("Check() = %v (code %d), want code %d", err, got, tc.code)
			}
		})
	}
}

// The wire form of each body decodes back, through DecodeData and its Check, to itself.
func TestBodiesRoundTrip(t *testing.T) {
	for _, v := range []any{
		&Hello{Version: 1, Token: "t", DeviceID: "d", PingInterval: 20, Capabilities: Capabilities{Audio: true}, Calls: []string{"c"}},
		&Welcome{Version: 1, AppKey: "org#app", Username: "alice", DeviceID: "d", PingInterval: 30, ServerTime: 1},
		&CallInvite{To: "bob", Type: CallVideo, Ext: "x", Record: true, MergeStream: true, PushIfOffline: true, OfflineText: "hi"},
		&CallInvited{CallID: "c", ICEServers: []ICEServer{{URLs: []string{"turn:127.0.0.1:3478"}, Username: "u", Credential: "p"}}, Glare: true},
		&CallIncoming{CallID: "c", From: "alice", FromDevice: "d", Type: CallVoice, Ext: "x", Record: true},
		&CallSignal{CallID: "c", Device: "d", Description: &SessionDescription{Type: "answer", SDP: "v=0\r\n"}},
		&CallEnded{CallID: "c", Reason: EndNoResponse, By: "bob"},
		&CallPeer{CallID: "c", Present: true},
		&Goodbye{Reason: GoodbyeRestart, RetryAfter: 1500},
	} {
		env := NewMessage("x", "1", v)
		w := newLike(v)
		if err := env.DecodeData(w); err != nil {
			t.Fatalf("%T: %v", v, err)
		}
		if a, b := string(Raw(v)), string(Raw(w)); a != b {
			t.Fatalf("%T: %s became %s", v, a, b)
		}
	}
}

func newLike(v any) any {
	switch v.(type) {
	case *Hello:
		return new(Hello)
	case *Welcome:
		return new(Welcome)
	case *CallInvite:
		return new(CallInvite)
	case *CallInvited:
		return new(CallInvited)
	case *CallIncoming:
		return new(CallIncoming)
	case *CallSignal:
		return new(CallSignal)
	case *CallEnded:
		return new(CallEnded)
	case *CallPeer:
		return new(CallPeer)
	case *Goodbye:
		return new(Goodbye)
	}
	panic("newLike: add the type")
}

func TestValidNames(t *testing.T) {
	for s, want := range map[string]bool{
		"alice": true, "A_b.c-9": true, strings.Repeat("u", 64): true,
		"": false, strings.Repeat("u", 65): false, "a b": false, "a:b": false, "é": false, "a#b": false,
	} {
		if got := ValidUsername(s); got != want {
			t.Errorf("ValidUsername(%q) = %v", s, got)
		}
	}
	for s, want := range map[string]bool{
		"ios-1": true, "a:b_c.d-e": true, strings.Repeat("d", 64): true,
		"": false, strings.Repeat("d", 65): false, "a/b": false, "a b": false, "\x00": false,
	} {
		if got := ValidDeviceID(s); got != want {
			t.Errorf("ValidDeviceID(%q) = %v", s, got)
		}
	}
}
