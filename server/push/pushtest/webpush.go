package pushtest

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// WebPushMessage is one push the push service accepted or refused, decrypted with the
// subscription's private keys.
type WebPushMessage struct {
	Subscription string // the endpoint's path: /push/N
	Payload      []byte // the plaintext, padding removed
	TTL          int
	Urgency      string
	Topic        string
	// Claims are the VAPID JWT's, once its ES256 signature checked out against k=.
	Audience, Subject string
	Expires           time.Time
	PublicKey         string // k=, base64url
	Status            int
	Err               string // why it was refused with 400 or 401
}

// WebPush is a local push service (RFC 8030) in the role of a browser vendor's: it hands
// out subscriptions whose private keys it keeps, and for each push checks what a real one
// checks and what the browser would: the VAPID Authorization header (RFC 8292: an ES256 JWT
// signed with the key in k=, aud the endpoint's origin, exp in the future and at most 24 h
// ahead, a sub), the TTL header, and that the aes128gcm body (RFC 8291) decrypts with the
// subscription's keys. It is written from the RFCs, independently of the sender's library.
// Subscriptions marked Gone are answered 410.
type WebPush struct {
	*httptest.Server

	mu   sync.Mutex
	subs map[string]*webPushSub // by path
	gone map[string]int
	rec  *recorder[WebPushMessage]
}

type webPushSub struct {
	key  *ecdh.PrivateKey
	auth []byte
}

// NewWebPush starts the push service (TLS, as push services are).
func NewWebPush(t testing.TB) *WebPush {
	t.Helper()
	w := &WebPush{subs: map[string]*webPushSub{}, gone: map[string]int{}, rec: newRecorder[WebPushMessage]()}
	w.Server = httptest.NewTLSServer(http.HandlerFunc(w.serve))
	t.Cleanup(w.Close)
	return w
}

// Subscribe makes a subscription and returns it as a browser's PushSubscription.toJSON().
func (w *WebPush) Subscribe(t testing.TB) string {
	t.Helper()
	key, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	auth := make([]byte, 16)
	_, _ = rand.Read(auth)
	w.mu.Lock()
	path := fmt.Sprintf("/push/%d", len(w.subs)+1)
	w.subs[path] = &webPushSub{key: key, auth: auth}
	w.mu.Unlock()
	b64 := base64.RawURLEncoding.EncodeToString
	b, _ := json.Marshal(map[string]any{"endpoint": w.URL + path, "expirationTime": nil,
		"keys": map[string]string{"p256dh": b64(key.PublicKey().Bytes()), "auth": b64(auth)}})
	return string(b)
}

// Gone has the push service answer status (404 or 410) for the subscription from now on.
func (w *WebPush) Gone(subscription string, status int) {
	var s struct{ Endpoint string }
	_ = json.Unmarshal([]byte(subscription), &s)
	w.mu.Lock()
	w.gone[strings.TrimPrefix(s.Endpoint, w.URL)] = status
	w.mu.Unlock()
}

// Wait returns the next push, or fails the test after d.
func (w *WebPush) Wait(t testing.TB, d time.Duration) WebPushMessage {
	return w.rec.wait(t, "web push", d)
}

// None fails the test if a push arrives within d.
func (w *WebPush) None(t testing.TB, d time.Duration) { w.rec.none(t, "web push", d) }

func (w *WebPush) serve(rw http.ResponseWriter, r *http.Request) {
	m := WebPushMessage{Subscription: r.URL.Path, Urgency: r.Header.Get("Urgency"), Topic: r.Header.Get("Topic")}
	status, err := w.check(r, &m)
	m.Status = status
	if err != nil {
		m.Err = err.Error()
		http.Error(rw, m.Err, status)
	} else {
		rw.Header().Set("Location", w.URL+"/message/1")
		rw.WriteHeader(status)
	}
	w.rec.add(m)
}

// check validates one push and decrypts it into m; it returns the status to answer.
func (w *WebPush) check(r *http.Request, m *WebPushMessage) (int, error) {
	w.mu.Lock()
	sub, gone := w.subs[r.URL.Path], w.gone[r.URL.Path]
	w.mu.Unlock()
	switch {
	case r.Method != http.MethodPost:
		return http.StatusMethodNotAllowed, errors.New("POST only")
	case sub == nil:
		return http.StatusNotFound, errors.New("no such subscription")
	case gone != 0:
		return gone, errors.New("subscription expired")
	}
	ttl, err := strconv.Atoi(r.Header.Get("TTL"))
	if err != nil || ttl < 0 {
		return http.StatusBadRequest, errors.New("TTL header missing or bad") // RFC 8030 §5.2
	}
	m.TTL = ttl
	if err := w.checkVAPID(r.Header.Get("Authorization"), m); err != nil {
		return http.StatusUnauthorized, err
	}
	if r.Header.Get("Content-Encoding") != "aes128gcm" {
		return http.StatusBadRequest, errors.New("content encoding is not aes128gcm")
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 8192))
	if len(body) > 4096 {
		return http.StatusRequestEntityTooLarge, errors.New("more than 4096 bytes") // RFC 8291 §4
	}
	plain, err := decryptAES128GCM(body, sub)
	if err != nil {
		return http.StatusBadRequest, err
	}
	m.Payload = plain
	return http.StatusCreated, nil
}

// checkVAPID verifies "vapid t=JWT, k=KEY" (RFC 8292 §3).
func (w *WebPush) checkVAPID(h string, m *WebPushMessage) error {
	rest, ok := strings.CutPrefix(h, "vapid ")
	if !ok {
		return errors.New("authorization is not vapid")
	}
	var tok string
	for _, p := range strings.Split(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		switch k {
		case "t":
			tok = v
		case "k":
			m.PublicKey = v
		}
	}
	pubBytes, err := base64.RawURLEncoding.DecodeString(m.PublicKey)
	if err != nil {
		return errors.New("k is not base64url")
	}
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), pubBytes)
	if err != nil {
		return errors.New("k is not a P-256 point")
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return errors.New("t is not a JWT")
	}
	var head struct{ Alg, Typ string }
	if hb, err := base64.RawURLEncoding.DecodeString(parts[0]); err != nil || json.Unmarshal(hb, &head) != nil || head.Alg != "ES256" {
		return errors.New("the JWT's alg is not ES256")
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || len(sig) != 64 {
		return errors.New("the JWT's signature is not 64 bytes of ES256")
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if !ecdsa.Verify(pub, digest[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
		return errors.New("the JWT's signature does not verify with k")
	}
	var claims struct {
		Aud string `json:"aud"`
		Exp int64  `json:"exp"`
		Sub string `json:"sub"`
	}
	if cb, err := base64.RawURLEncoding.DecodeString(parts[1]); err != nil || json.Unmarshal(cb, &claims) != nil {
		return errors.New("the JWT's claims do not decode")
	}
	m.Audience, m.Subject, m.Expires = claims.Aud, claims.Sub, time.Unix(claims.Exp, 0)
	now := time.Now()
	switch {
	case claims.Aud != w.URL:
		return fmt.Errorf("aud %q is not the push service's origin %q", claims.Aud, w.URL)
	case m.Expires.Before(now) || m.Expires.After(now.Add(24*time.Hour)):
		return fmt.Errorf("exp %v is not within the next 24 h", m.Expires)
	case !strings.HasPrefix(claims.Sub, "mailto:") && !strings.HasPrefix(claims.Sub, "https:"):
		return fmt.Errorf("sub %q is not a mailto: or https: URL", claims.Sub)
	}
	return nil
}

// decryptAES128GCM undoes RFC 8291's encryption of one record (RFC 8188 framing) with the
// subscription's private key and auth secret, as the browser does.
func decryptAES128GCM(body []byte, sub *webPushSub) ([]byte, error) {
	if len(body) < 21 {
		return nil, errors.New("body shorter than its header")
	}
	salt, rs, idLen := body[:16], binary.BigEndian.Uint32(body[16:20]), int(body[20])
	if idLen != 65 || len(body) < 21+idLen || rs < 18 {
		return nil, errors.New("keyid is not the sender's 65-byte public key")
	}
	asPublic, ciphertext := body[21:21+idLen], body[21+idLen:]
	if uint32(len(ciphertext)) > rs {
		return nil, errors.New("more than one record")
	}
	asKey, err := ecdh.P256().NewPublicKey(asPublic)
	if err != nil {
		return nil, fmt.Errorf("sender key: %w", err)
	}
	secret, err := sub.key.ECDH(asKey)
	if err != nil {
		return nil, err
	}
	info := "WebPush: info\x00" + string(sub.key.PublicKey().Bytes()) + string(asPublic)
	ikm, err := hkdf.Key(sha256.New, secret, sub.auth, info, 32)
	if err != nil {
		return nil, err
	}
	cek, _ := hkdf.Key(sha256.New, ikm, salt, "Content-Encoding: aes128gcm\x00", 16)
	nonce, _ := hkdf.Key(sha256.New, ikm, salt, "Content-Encoding: nonce\x00", 12)
	block, err := aes.NewCipher(cek)
	if err != nil {
		return nil, err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	plain, err := gcm.Open(nil, nonce, ciphertext, nil)
	if err != nil {
		return nil, errors.New("the body does not decrypt with the subscription's keys")
	}
	// Padding: zeros after a 0x02 delimiter (the last record).
	end := bytes.LastIndexByte(plain, 2)
	if end < 0 || bytes.ContainsFunc(plain[end+1:], func(r rune) bool { return r != 0 }) {
		return nil, errors.New("no last-record delimiter")
	}
	return plain[:end], nil
}
