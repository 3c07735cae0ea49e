package turn

import (
	"crypto/hmac"
	"crypto/sha1" //nolint:gosec // the TURN REST API defines the credential as HMAC-SHA1
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/duet-rtc/duet/internal/clock"
)

// Credentials issues and checks short-lived TURN credentials in the style of the TURN REST
// API (draft-uberti-behave-turn-rest): the username is "EXPIRY:APP:USER:CALLID", EXPIRY in
// unix seconds, and the password is base64(HMAC-SHA1(secret, username)). The server keeps no
// state per credential: it recomputes the password from the username. Any TURN server that
// shares the secret (coturn's static-auth-secret) accepts them too.
type Credentials struct {
	secret []byte
	ttl    time.Duration
	clock  clock.Clock
}

// Identity is what a valid credential names.
type Identity struct {
	App, User, CallID string
	Expires           time.Time
}

// UserID is the quota key of the identity: one per (app, user).
func (id Identity) UserID() string { return id.App + ":" + id.User }

// Errors of Credentials.Check.
var (
	ErrBadUsername = errors.New("turn: malformed credential username")
	ErrExpired     = errors.New("turn: credential expired")
)

// NewCredentials returns credentials signed with secret that expire ttl after issue. clk
// may be nil (the wall clock).
func NewCredentials(secret []byte, ttl time.Duration, clk clock.Clock) *Credentials {
	if clk == nil {
		clk = clock.Real{}
	}
	return &Credentials{secret: append([]byte(nil), secret...), ttl: ttl, clock: clk}
}

// Issue returns the username and password that let user of app allocate relays for callID
// until the returned expiry.
func (c *Credentials) Issue(app, user, callID string) (username, password string, expires time.Time) {
	expires = c.clock.Now().Add(c.ttl).Truncate(time.Second)
	username = strconv.FormatInt(expires.Unix(), 10) + ":" + app + ":" + user + ":" + callID
	return username, c.Password(username), expires
}

// Password is the password that belongs to username.
func (c *Credentials) Password(username string) string {
	mac := hmac.New(sha1.New, c.secret)
	mac.Write([]byte(username))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// Check parses username and tells whether it may still be used. It does not check a
// password: in TURN the client proves it knows Password(username) by the message integrity
// of each request, which pion verifies with the key the auth handler derives from it.
func (c *Credentials) Check(username string) (Identity, error) {
	fields := strings.Split(username, ":")
	if len(fields) != 4 || fields[1] == "" || fields[2] == "" || fields[3] == "" {
		return Identity{}, ErrBadUsername
	}
	exp, err := strconv.ParseInt(fields[0], 10, 64)
	if err != nil || exp <= 0 {
		return Identity{}, ErrBadUsername
	}
	id := Identity{App: fields[1], User: fields[2], CallID: fields[3], Expires: time.Unix(exp, 0)}
	now := c.clock.Now()
	if !now.Before(id.Expires) {
		return Identity{}, ErrExpired
	}
	// An expiry further out than this server would ever issue was not made with its TTL: a
	// credential from a misconfigured issuer, or a secret that leaked. Refuse it.
	if id.Expires.After(now.Add(c.ttl + time.Minute)) {
		return Identity{}, ErrBadUsername
	}
	return id, nil
}
