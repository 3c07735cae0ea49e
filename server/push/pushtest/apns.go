package pushtest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v4"
)

// APNsPush is one request the APNs server accepted or refused.
type APNsPush struct {
	Token      string
	Topic      string // apns-topic
	PushType   string // apns-push-type
	Priority   string // apns-priority
	Expiration time.Time
	CollapseID string
	ClientCert bool           // the request came with a TLS client certificate
	Payload    map[string]any // the JSON body
	Status     int            // what the server answered
	Reason     string         // the error reason it answered, if any
}

// APNs is a local APNs provider API: POST /3/device/<token> over HTTP/2 and TLS. With token
// auth it checks the "bearer" JWT (ES256, kid KeyID, iss TeamID) against Key; with
// certificate auth (NewAPNsCertAuth) it requires a client certificate. Tokens in Gone are
// answered 410 Unregistered, tokens in Bad 400 BadDeviceToken.
type APNs struct {
	*httptest.Server
	KeyID, TeamID string
	Key           *ecdsa.PrivateKey
	KeyPEM        string // the .p8 file

	mu   sync.Mutex
	gone map[string]bool
	bad  map[string]bool
	rec  *recorder[APNsPush]
}

// NewAPNs starts an APNs server for token (.p8) auth with a fresh signing key.
func NewAPNs(t testing.TB) *APNs {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	a := &APNs{KeyID: "KEY1234567", TeamID: "TEAM123456", Key: key,
		KeyPEM: string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		gone:   map[string]bool{}, bad: map[string]bool{}, rec: newRecorder[APNsPush]()}
	a.start(t, false)
	return a
}

// NewAPNsCertAuth starts an APNs server that requires a TLS client certificate instead of a
// token.
func NewAPNsCertAuth(t testing.TB) *APNs {
	t.Helper()
	a := &APNs{gone: map[string]bool{}, bad: map[string]bool{}, rec: newRecorder[APNsPush]()}
	a.start(t, true)
	return a
}

func (a *APNs) start(t testing.TB, certAuth bool) {
	a.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.serve(w, r, certAuth)
	}))
	a.EnableHTTP2 = true
	if certAuth {
		a.TLS = &tls.Config{ClientAuth: tls.RequireAnyClientCert}
	}
	a.StartTLS()
	t.Cleanup(a.Close)
}

// Gone makes the server answer 410 Unregistered for token.
func (a *APNs) Gone(token string) { a.mu.Lock(); a.gone[token] = true; a.mu.Unlock() }

// Bad makes the server answer 400 BadDeviceToken for token.
func (a *APNs) Bad(token string) { a.mu.Lock(); a.bad[token] = true; a.mu.Unlock() }

// Credentials is the apns credentials document for this server (token auth), as the admin
// API takes it.
func (a *APNs) Credentials(topic string) []byte {
	b, _ := json.Marshal(map[string]any{"authType": "token", "key": a.KeyPEM, "keyId": a.KeyID,
		"teamId": a.TeamID, "topic": topic, "host": a.URL})
	return b
}

// Wait returns the next push the server received, or fails the test after d.
func (a *APNs) Wait(t testing.TB, d time.Duration) APNsPush { return a.rec.wait(t, "APNs push", d) }

// None asserts that no push arrives within d.
func (a *APNs) None(t testing.TB, d time.Duration) { a.rec.none(t, "APNs push", d) }

// Pushes returns every push received so far.
func (a *APNs) Pushes() []APNsPush { return a.rec.all() }

func (a *APNs) serve(w http.ResponseWriter, r *http.Request, certAuth bool) {
	p := APNsPush{Topic: r.Header.Get("apns-topic"), PushType: r.Header.Get("apns-push-type"),
		Priority: r.Header.Get("apns-priority"), CollapseID: r.Header.Get("apns-collapse-id"),
		ClientCert: r.TLS != nil && len(r.TLS.PeerCertificates) > 0}
	if exp := r.Header.Get("apns-expiration"); exp != "" {
		var sec int64
		_, _ = fmt.Sscan(exp, &sec) // a malformed header reads as 0: the test sees it
		p.Expiration = time.Unix(sec, 0)
	}
	answer := func(status int, reason string) {
		p.Status, p.Reason = status, reason
		a.rec.add(p)
		w.Header().Set("apns-id", "00000000-0000-0000-0000-000000000001")
		if reason != "" {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			fmt.Fprintf(w, `{"reason":%q,"timestamp":%d}`, reason, time.Now().UnixMilli())
			return
		}
		w.WriteHeader(status)
	}
	token, ok := strings.CutPrefix(r.URL.Path, "/3/device/")
	p.Token = token
	body, _ := io.ReadAll(io.LimitReader(r.Body, 8<<10))
	switch {
	case r.ProtoMajor != 2:
		answer(http.StatusBadRequest, "BadProtocol") // APNs speaks HTTP/2 only
		return
	case r.Method != http.MethodPost || !ok || token == "":
		answer(http.StatusNotFound, "BadPath")
		return
	case len(body) > 4096:
		answer(http.StatusRequestEntityTooLarge, "PayloadTooLarge")
		return
	}
	if json.Unmarshal(body, &p.Payload) != nil {
		answer(http.StatusBadRequest, "PayloadEmpty")
		return
	}
	if certAuth {
		if !p.ClientCert {
			answer(http.StatusForbidden, "BadCertificate")
			return
		}
	} else if reason := a.checkToken(r.Header.Get("authorization")); reason != "" {
		answer(http.StatusForbidden, reason)
		return
	}
	switch p.PushType {
	case "alert", "background", "voip":
	default:
		answer(http.StatusBadRequest, "InvalidPushType")
		return
	}
	if p.PushType == "voip" && !strings.HasSuffix(p.Topic, ".voip") {
		answer(http.StatusBadRequest, "TopicDisallowed")
		return
	}
	a.mu.Lock()
	gone, bad := a.gone[token], a.bad[token]
	a.mu.Unlock()
	switch {
	case gone:
		answer(http.StatusGone, "Unregistered")
	case bad:
		answer(http.StatusBadRequest, "BadDeviceToken")
	default:
		answer(http.StatusOK, "")
	}
}

// checkToken verifies the provider token; it returns the APNs reason when it is wrong.
func (a *APNs) checkToken(h string) string {
	raw, ok := strings.CutPrefix(h, "bearer ")
	if !ok {
		return "MissingProviderToken"
	}
	tok, err := jwt.Parse(raw, func(t *jwt.Token) (any, error) {
		if t.Method != jwt.SigningMethodES256 {
			return nil, fmt.Errorf("alg %v", t.Header["alg"])
		}
		if t.Header["kid"] != a.KeyID {
			return nil, fmt.Errorf("kid %v", t.Header["kid"])
		}
		return &a.Key.PublicKey, nil
	})
	if err != nil || !tok.Valid {
		return "InvalidProviderToken"
	}
	claims, _ := tok.Claims.(jwt.MapClaims)
	if claims["iss"] != a.TeamID || claims["iat"] == nil {
		return "InvalidProviderToken"
	}
	return ""
}
