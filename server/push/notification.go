package push

import (
	"encoding/json"
	"time"
	"unicode/utf8"
)

// Kinds of notification, also the "type" field every provider's payload carries.
const (
	KindCall    = "call.incoming" // an offline callee is being called
	KindCancel  = "call.cancel"   // that call stopped ringing: drop the ring
	KindMessage = "message"       // a text message for an offline user
)

// notification is what one push says, whatever the provider.
type notification struct {
	Kind     string
	App      string
	User     string // the recipient
	CallID   string // calls and cancels
	From     string // caller or sender
	CallType int
	Ext      string // the call's ext
	Reason   int    // cancels: the call's end reason
	Answered bool   // cancels: a device of the callee answered
	// Title, Body and Sound are what an alert shows and plays.
	Title, Body, Sound string
	MutableContent     bool
	Category           string
	MessageID          string
	ChannelID          string // FCM: em_android_push_ext.em_push_channel_id
	AndroidSound       string // FCM: em_android_push_ext.em_push_sound
	Expires            time.Time
}

// data is the provider-neutral custom payload: what the app's code reads from the push.
func (n *notification) data() map[string]string {
	d := map[string]string{"type": n.Kind}
	set := func(k, v string) {
		if v != "" {
			d[k] = v
		}
	}
	set("callId", n.CallID)
	set("from", n.From)
	set("messageId", n.MessageID)
	switch n.Kind {
	case KindCall:
		d["callType"] = itoa(n.CallType)
		set("ext", n.Ext)
		set("text", n.Body)
	case KindCancel:
		d["reason"] = itoa(n.Reason)
		if n.Answered {
			d["answered"] = "true"
		}
	}
	return d
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// maxAlertBody bounds the text an alert carries: APNs refuses payloads over 4 KiB.
const maxAlertBody = 512

// truncate shortens s to at most n bytes at a rune boundary, marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// apnsExt is the seed's em_apns_ext: what a message's ext asks the iOS alert to show.
type apnsExt struct {
	Title          string `json:"em_push_title"`
	Content        string `json:"em_push_content"`
	Sound          string `json:"em_push_sound"`
	MutableContent any    `json:"em_push_mutable_content"` // the seed's demos send true or 1
	Category       string `json:"em_push_category"`
}

// androidExt is the seed's em_android_push_ext.
type androidExt struct {
	Sound     string `json:"em_push_sound"`
	ChannelID string `json:"em_push_channel_id"`
}

// messageNotification builds the alert for a text message, honouring the seed's push keys
// in its ext: em_apns_ext{em_push_title, em_push_content, em_push_sound,
// em_push_mutable_content, em_push_category} and em_android_push_ext{em_push_sound,
// em_push_channel_id}. Unknown or ill-typed keys are ignored.
func messageNotification(app, to, from, id, text string, ext []byte, expires time.Time) *notification {
	n := &notification{Kind: KindMessage, App: app, User: to, From: from, MessageID: id,
		Title: from, Body: truncate(text, maxAlertBody), Sound: "default", Expires: expires}
	var keys struct {
		APNs    json.RawMessage `json:"em_apns_ext"`
		Android json.RawMessage `json:"em_android_push_ext"`
	}
	if len(ext) == 0 || json.Unmarshal(ext, &keys) != nil {
		return n
	}
	var a apnsExt
	if len(keys.APNs) > 0 && json.Unmarshal(keys.APNs, &a) == nil {
		if a.Title != "" {
			n.Title = truncate(a.Title, maxAlertBody)
		}
		if a.Content != "" {
			n.Body = truncate(a.Content, maxAlertBody)
		}
		if a.Sound != "" {
			n.Sound = a.Sound
		}
		switch v := a.MutableContent.(type) {
		case bool:
			n.MutableContent = v
		case float64:
			n.MutableContent = v != 0
		}
		n.Category = a.Category
	}
	var g androidExt
	if len(keys.Android) > 0 && json.Unmarshal(keys.Android, &g) == nil {
		n.AndroidSound, n.ChannelID = g.Sound, g.ChannelID
	}
	return n
}
