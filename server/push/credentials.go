package push

import (
	"bytes"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/sideshow/apns2/certificate"
	"github.com/sideshow/apns2/token"

	"github.com/duet-rtc/duet/protocol"
)

// Authentication kinds of APNs credentials.
const (
	APNsTokenAuth       = "token"       // a .p8 signing key: KeyID, TeamID, Key
	APNsCertificateAuth = "certificate" // a client certificate (.p12 or PEM) with its key
)

// APNsConfig is an app's APNs credentials, as the admin API takes them.
type APNsConfig struct {
	AuthType string `json:"authType"`              // APNsTokenAuth (default) or APNsCertificateAuth
	Key      string `json:"key,omitempty"`         // token auth: the .p8 file's PEM text
	KeyID    string `json:"keyId,omitempty"`       // token auth
	TeamID   string `json:"teamId,omitempty"`      // token auth
	Cert     string `json:"certificate,omitempty"` // certificate auth: base64 of a .p12, or PEM text
	Password string `json:"password,omitempty"`    // certificate auth: the .p12 or key password
	// Topic is the app's bundle id: alert pushes use it, VoIP pushes Topic + ".voip".
	Topic   string `json:"topic"`
	Sandbox bool   `json:"sandbox,omitempty"` // the development environment
	// Host overrides the APNs server, e.g. a proxy; "" picks production or sandbox.
	Host string `json:"host,omitempty"`
}

// FCMConfig is an app's Firebase Cloud Messaging (HTTP v1) credentials.
type FCMConfig struct {
	// ServiceAccount is the service account's JSON key file, as Google issues it.
	ServiceAccount json.RawMessage `json:"serviceAccount"`
	// Endpoint overrides https://fcm.googleapis.com (tests, proxies).
	Endpoint string `json:"endpoint,omitempty"`
}

// serviceAccount holds the fields of a Google service account key that FCM needs.
type serviceAccount struct {
	Type         string `json:"type"`
	ProjectID    string `json:"project_id"`
	PrivateKeyID string `json:"private_key_id"`
	PrivateKey   string `json:"private_key"`
	ClientEmail  string `json:"client_email"`
	TokenURI     string `json:"token_uri"`
}

// WebhookConfig is an app's own push service: each push is a POST of JSON to URL, signed
// with Secret as the call webhooks are (X-Duet-Signature).
type WebhookConfig struct {
	URL    string `json:"url"`
	Secret string `json:"secret"`
}

// Defaults of the providers' public endpoints.
const (
	apnsProduction  = "https://api.push.apple.com"
	apnsSandbox     = "https://api.sandbox.push.apple.com"
	fcmEndpoint     = "https://fcm.googleapis.com"
	googleTokenURI  = "https://oauth2.googleapis.com/token"
	fcmScope        = "https://www.googleapis.com/auth/firebase.messaging"
	minSecretLength = 16
)

// ParseCredentials checks an admin's credentials document for provider and returns it in
// the form the store keeps. Errors are coded (CodeBadMessage) and never quote secrets.
func ParseCredentials(provider string, raw []byte) ([]byte, error) {
	var v any
	switch provider {
	case protocol.PushAPNs:
		var c APNsConfig
		if err := strictJSON(raw, &c); err != nil {
			return nil, err
		}
		if c.AuthType == "" {
			c.AuthType = APNsTokenAuth
		}
		if _, err := c.tlsCertificate(); err != nil {
			return nil, err
		}
		if _, err := c.signingKey(); err != nil {
			return nil, err
		}
		if c.Topic == "" || strings.ContainsAny(c.Topic, " /") {
			return nil, badCredentials("apns: topic (the bundle id) is required")
		}
		if c.Host != "" {
			if err := checkURL(c.Host); err != nil {
				return nil, badCredentials("apns: host: %v", err)
			}
		}
		v = c
	case protocol.PushFCM:
		var c FCMConfig
		if err := strictJSON(raw, &c); err != nil {
			return nil, err
		}
		if _, err := c.account(); err != nil {
			return nil, err
		}
		if c.Endpoint != "" {
			if err := checkURL(c.Endpoint); err != nil {
				return nil, badCredentials("fcm: endpoint: %v", err)
			}
		}
		v = c
	case protocol.PushWebhook:
		var c WebhookConfig
		if err := strictJSON(raw, &c); err != nil {
			return nil, err
		}
		if err := checkURL(c.URL); err != nil {
			return nil, badCredentials("webhook: url: %v", err)
		}
		if len(c.Secret) < minSecretLength {
			return nil, badCredentials("webhook: the secret must have at least %d characters", minSecretLength)
		}
		v = c
	case protocol.PushWebPush:
		var c WebPushConfig
		if err := strictJSON(raw, &c); err != nil {
			return nil, err
		}
		if err := c.complete(); err != nil {
			return nil, err
		}
		v = c
	default:
		return nil, badCredentials("unknown provider %q (apns, fcm, webhook or webpush)", provider)
	}
	return json.Marshal(v)
}

// Redacted is the view of stored credentials that the admin API may show: every secret is
// replaced by whether it is set.
type Redacted struct {
	Provider string         `json:"provider"`
	Updated  int64          `json:"updated"` // unix milliseconds
	Config   map[string]any `json:"config"`
}

// redactedMark stands in for a secret that is set.
const redactedMark = "(redacted)"

// Redact returns the shareable view of a stored credentials document.
func Redact(provider string, config []byte, updatedMillis int64) Redacted {
	out := Redacted{Provider: provider, Updated: updatedMillis, Config: map[string]any{}}
	secret := func(s string) any {
		if s == "" {
			return ""
		}
		return redactedMark
	}
	switch provider {
	case protocol.PushAPNs:
		var c APNsConfig
		if json.Unmarshal(config, &c) == nil {
			out.Config = map[string]any{"authType": c.AuthType, "keyId": c.KeyID, "teamId": c.TeamID,
				"topic": c.Topic, "sandbox": c.Sandbox, "host": c.Host,
				"key": secret(c.Key), "certificate": secret(c.Cert), "password": secret(c.Password)}
		}
	case protocol.PushFCM:
		var c FCMConfig
		if json.Unmarshal(config, &c) == nil {
			sa, _ := c.account()
			out.Config = map[string]any{"projectId": sa.ProjectID, "clientEmail": sa.ClientEmail,
				"tokenUri": sa.TokenURI, "endpoint": c.Endpoint, "privateKey": secret(sa.PrivateKey)}
		}
	case protocol.PushWebhook:
		var c WebhookConfig
		if json.Unmarshal(config, &c) == nil {
			out.Config = map[string]any{"url": c.URL, "secret": secret(c.Secret)}
		}
	case protocol.PushWebPush:
		var c WebPushConfig
		if json.Unmarshal(config, &c) == nil {
			out.Config = map[string]any{"publicKey": c.PublicKey, "subject": c.Subject, "privateKey": secret(c.PrivateKey)}
		}
	}
	return out
}

// signingKey returns the token-auth signing key, or nil for certificate auth.
func (c APNsConfig) signingKey() (*token.Token, error) {
	if c.AuthType != APNsTokenAuth {
		return nil, nil
	}
	if c.KeyID == "" || c.TeamID == "" {
		return nil, badCredentials("apns: token auth needs keyId and teamId")
	}
	key, err := token.AuthKeyFromBytes([]byte(c.Key))
	if err != nil {
		return nil, badCredentials("apns: key is not a .p8 (PKCS#8 ECDSA PEM) key")
	}
	return &token.Token{AuthKey: key, KeyID: c.KeyID, TeamID: c.TeamID}, nil
}

// tlsCertificate returns the client certificate of certificate auth, or nil for token auth.
func (c APNsConfig) tlsCertificate() (*tls.Certificate, error) {
	switch c.AuthType {
	case APNsTokenAuth:
		return nil, nil
	case APNsCertificateAuth:
	default:
		return nil, badCredentials("apns: authType must be token or certificate")
	}
	var cert tls.Certificate
	var err error
	if strings.Contains(c.Cert, "-----BEGIN") {
		cert, err = certificate.FromPemBytes([]byte(c.Cert), c.Password)
	} else {
		der, derr := base64.StdEncoding.DecodeString(c.Cert)
		if derr != nil {
			return nil, badCredentials("apns: certificate must be PEM text or base64 of a .p12 file")
		}
		cert, err = certificate.FromP12Bytes(der, c.Password)
	}
	if err != nil {
		return nil, badCredentials("apns: unreadable certificate or wrong password")
	}
	return &cert, nil
}

// host is the APNs server to use.
func (c APNsConfig) host() string {
	switch {
	case c.Host != "":
		return strings.TrimRight(c.Host, "/")
	case c.Sandbox:
		return apnsSandbox
	}
	return apnsProduction
}

// account decodes and checks the service account.
func (c FCMConfig) account() (serviceAccount, error) {
	var sa serviceAccount
	if len(c.ServiceAccount) == 0 || json.Unmarshal(c.ServiceAccount, &sa) != nil {
		return sa, badCredentials("fcm: serviceAccount must be the service account's JSON key")
	}
	if sa.ProjectID == "" || sa.ClientEmail == "" || sa.PrivateKey == "" {
		return sa, badCredentials("fcm: the service account needs project_id, client_email and private_key")
	}
	if _, err := parseRSAKey(sa.PrivateKey); err != nil {
		return sa, badCredentials("fcm: private_key is not an RSA key in PEM")
	}
	if sa.TokenURI == "" {
		sa.TokenURI = googleTokenURI
	} else if err := checkURL(sa.TokenURI); err != nil {
		return sa, badCredentials("fcm: token_uri: %v", err)
	}
	return sa, nil
}

func (c FCMConfig) endpoint() string {
	if c.Endpoint != "" {
		return strings.TrimRight(c.Endpoint, "/")
	}
	return fcmEndpoint
}

// parseRSAKey reads a PKCS#8 or PKCS#1 RSA private key in PEM.
func parseRSAKey(p string) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode([]byte(p))
	if block == nil {
		return nil, errors.New("no PEM block")
	}
	if k, err := x509.ParsePKCS8PrivateKey(block.Bytes); err == nil {
		if rk, ok := k.(*rsa.PrivateKey); ok {
			return rk, nil
		}
		return nil, errors.New("not an RSA key")
	}
	return x509.ParsePKCS1PrivateKey(block.Bytes)
}

// checkURL accepts absolute http(s) URLs; http is allowed for endpoints on the same host.
func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return errors.New("must be an absolute http(s) URL")
	}
	return nil
}

func strictJSON(raw []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		// The decoder's message may quote the input, which holds secrets: keep it generic.
		return badCredentials("malformed credentials (unknown field or wrong type)")
	}
	if dec.More() {
		return badCredentials("data after the credentials")
	}
	return nil
}

func badCredentials(format string, args ...any) error {
	return protocol.NewError(protocol.CodeBadMessage, "push credentials: %s", fmt.Sprintf(format, args...))
}
