package pushtest

import (
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v4"
)

// FCMMessage is one messages:send request the FCM server accepted or refused.
type FCMMessage struct {
	Project string
	Message struct {
		Token        string            `json:"token"`
		Data         map[string]string `json:"data"`
		Notification *struct {
			Title string `json:"title"`
			Body  string `json:"body"`
		} `json:"notification"`
		Android struct {
			Priority     string            `json:"priority"`
			TTL          string            `json:"ttl"`
			CollapseKey  string            `json:"collapse_key"`
			Notification map[string]string `json:"notification"`
		} `json:"android"`
	} `json:"message"`
	Status int
}

// FCM is a local FCM HTTP v1 endpoint and OAuth 2.0 token endpoint. The token endpoint
// takes the JWT bearer grant and verifies the assertion (RS256 with the service account's
// key, iss, aud, scope); messages:send requires the access token it issued. Tokens marked
// Gone are answered 404 UNREGISTERED.
type FCM struct {
	*httptest.Server
	Project, ClientEmail string
	Key                  *rsa.PrivateKey
	KeyPEM               string
	// TokenRequests counts the access tokens issued.
	TokenRequests atomic.Int64

	mu     sync.Mutex
	access string
	gone   map[string]bool
	rec    *recorder[FCMMessage]
}

// NewFCM starts the FCM server with a fresh service account.
func NewFCM(t testing.TB) *FCM {
	t.Helper()
	key, pemText := rsaKey(t)
	f := &FCM{Project: "duet-test", ClientEmail: "push@duet-test.iam.gserviceaccount.com", Key: key, KeyPEM: pemText,
		gone: map[string]bool{}, rec: newRecorder[FCMMessage]()}
	f.Server = httptest.NewUnstartedServer(http.HandlerFunc(f.serve))
	f.EnableHTTP2 = true
	f.StartTLS()
	t.Cleanup(f.Close)
	return f
}

// ServiceAccount is the service account JSON key file for this server.
func (f *FCM) ServiceAccount() []byte {
	b, _ := json.Marshal(map[string]string{"type": "service_account", "project_id": f.Project,
		"private_key_id": "kid-1", "private_key": f.KeyPEM, "client_email": f.ClientEmail,
		"token_uri": f.URL + "/token"})
	return b
}

// Credentials is the fcm credentials document for this server, as the admin API takes it.
func (f *FCM) Credentials() []byte {
	b, _ := json.Marshal(map[string]any{"serviceAccount": json.RawMessage(f.ServiceAccount()), "endpoint": f.URL})
	return b
}

// Gone makes messages:send answer 404 UNREGISTERED for token.
func (f *FCM) Gone(token string) { f.mu.Lock(); f.gone[token] = true; f.mu.Unlock() }

// Wait returns the next message, or fails the test after d.
func (f *FCM) Wait(t testing.TB, d time.Duration) FCMMessage { return f.rec.wait(t, "FCM message", d) }

// None asserts that no message arrives within d.
func (f *FCM) None(t testing.TB, d time.Duration) { f.rec.none(t, "FCM message", d) }

// Messages returns every message received so far.
func (f *FCM) Messages() []FCMMessage { return f.rec.all() }

func (f *FCM) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/token" {
		f.token(w, r)
		return
	}
	var m FCMMessage
	rest, ok := strings.CutPrefix(r.URL.Path, "/v1/projects/")
	project, suffix, _ := strings.Cut(rest, "/")
	if !ok || suffix != "messages:send" || r.Method != http.MethodPost {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	m.Project = project
	answer := func(status int, body string) {
		m.Status = status
		f.rec.add(m)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
	f.mu.Lock()
	access := f.access
	f.mu.Unlock()
	if access == "" || r.Header.Get("Authorization") != "Bearer "+access {
		answer(http.StatusUnauthorized, `{"error":{"code":401,"status":"UNAUTHENTICATED"}}`)
		return
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 8<<10))
	if err := json.Unmarshal(body, &m); err != nil || m.Message.Token == "" || project != f.Project {
		answer(http.StatusBadRequest, `{"error":{"code":400,"status":"INVALID_ARGUMENT"}}`)
		return
	}
	f.mu.Lock()
	gone := f.gone[m.Message.Token]
	f.mu.Unlock()
	if gone {
		answer(http.StatusNotFound, `{"error":{"code":404,"status":"NOT_FOUND","details":[{"@type":"type.googleapis.com/google.firebase.fcm.v1.FcmError","errorCode":"UNREGISTERED"}]}}`)
		return
	}
	answer(http.StatusOK, fmt.Sprintf(`{"name":"projects/%s/messages/1"}`, f.Project))
}

func (f *FCM) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || r.PostForm.Get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" {
		http.Error(w, `{"error":"unsupported_grant_type"}`, http.StatusBadRequest)
		return
	}
	tok, err := jwt.Parse(r.PostForm.Get("assertion"), func(t *jwt.Token) (any, error) {
		if t.Method != jwt.SigningMethodRS256 {
			return nil, fmt.Errorf("alg %v", t.Header["alg"])
		}
		return &f.Key.PublicKey, nil
	})
	if err != nil || !tok.Valid {
		http.Error(w, `{"error":"invalid_grant"}`, http.StatusBadRequest)
		return
	}
	c, _ := tok.Claims.(jwt.MapClaims)
	if c["iss"] != f.ClientEmail || c["aud"] != f.URL+"/token" || c["scope"] != "https://www.googleapis.com/auth/firebase.messaging" || c["exp"] == nil {
		http.Error(w, `{"error":"invalid_grant"}`, http.StatusBadRequest)
		return
	}
	n := f.TokenRequests.Add(1)
	access := fmt.Sprintf("ya29.test-%d", n)
	f.mu.Lock()
	f.access = access
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"access_token":%q,"expires_in":3599,"token_type":"Bearer"}`, access)
}
