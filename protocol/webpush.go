package protocol

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"strings"
)

// WebPushSubscription is a browser's PushSubscription as its toJSON() gives it: the push
// service's endpoint and the keys that encrypt what is sent to it (RFC 8291). It is the
// token of a PushWebPush binding.
type WebPushSubscription struct {
	Endpoint string `json:"endpoint"`
	Keys     struct {
		P256dh string `json:"p256dh"` // the browser's P-256 public key, uncompressed, base64url
		Auth   string `json:"auth"`   // the 16-byte authentication secret, base64url
	} `json:"keys"`
}

// ParseWebPushSubscription checks a webpush token: at most MaxWebPushTokenBytes of JSON
// with an https endpoint, a 65-byte uncompressed P-256 point as p256dh and a 16-byte auth
// secret (base64url, padded or not). Other members (expirationTime) are ignored.
func ParseWebPushSubscription(token string) (WebPushSubscription, error) {
	var s WebPushSubscription
	if len(token) == 0 || len(token) > MaxWebPushTokenBytes {
		return s, NewError(CodeBadMessage, "a webpush token is a PushSubscription's JSON of 1-%d bytes", MaxWebPushTokenBytes)
	}
	if err := json.NewDecoder(bytes.NewReader([]byte(token))).Decode(&s); err != nil {
		return s, NewError(CodeBadMessage, "a webpush token is a PushSubscription's JSON: %v", err)
	}
	u, err := url.Parse(s.Endpoint)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil {
		return s, NewError(CodeBadMessage, "a webpush token's endpoint must be an https URL")
	}
	if k, err := DecodeBase64URL(s.Keys.P256dh); err != nil || len(k) != 65 || k[0] != 4 {
		return s, NewError(CodeBadMessage, "a webpush token's keys.p256dh must be an uncompressed P-256 point in base64url")
	}
	if k, err := DecodeBase64URL(s.Keys.Auth); err != nil || len(k) != 16 {
		return s, NewError(CodeBadMessage, "a webpush token's keys.auth must be 16 bytes in base64url")
	}
	return s, nil
}

// Canonical is the subscription's JSON in one form (endpoint, keys.p256dh, keys.auth, in
// that order, keys unpadded), so that the same subscription bound twice is one token.
func (s WebPushSubscription) Canonical() string {
	s.Keys.P256dh = strings.TrimRight(s.Keys.P256dh, "=")
	s.Keys.Auth = strings.TrimRight(s.Keys.Auth, "=")
	b, _ := json.Marshal(s)
	return string(b)
}

// DecodeBase64URL decodes base64url with or without padding, as browsers and push libraries
// write it.
func DecodeBase64URL(s string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
}
