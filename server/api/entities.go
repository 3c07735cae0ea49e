package api

import (
	"crypto/sha1"
	"encoding/hex"
	"strings"
	"time"

	"github.com/duet-rtc/duet/server/store"
	"github.com/duet-rtc/duet/server/webhook"
)

// User is a user as the API shows it (Easemob's user entity). Times are unix ms.
type User struct {
	UUID      string `json:"uuid"`
	Type      string `json:"type"` // always "user"
	Created   int64  `json:"created"`
	Modified  int64  `json:"modified"`
	Username  string `json:"username"`
	Activated bool   `json:"activated"`
	Nickname  string `json:"nickname"`
}

// App is an app as the admin API shows it. ClientSecret is shown once, in the reply that
// made it (creation, rotation): only its hash is stored.
type App struct {
	Key          string `json:"key"` // "org#app"
	UUID         string `json:"uuid"`
	Org          string `json:"org"`
	Name         string `json:"name"`
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret,omitempty"`
	Registration string `json:"registration"` // "open" or "authorized"
	Created      int64  `json:"created"`      // unix ms
}

// Call is a call record as the API shows it: the same type as the call.ended webhook's
// record.
type Call = webhook.CallRecord

// Response is the envelope of Easemob-style replies. Fields that do not apply are omitted.
type Response[T any] struct {
	Action          string `json:"action,omitempty"`
	Application     string `json:"application,omitempty"` // the app's UUID
	Path            string `json:"path,omitempty"`
	URI             string `json:"uri,omitempty"`
	Entities        []T    `json:"entities"`
	Cursor          string `json:"cursor,omitempty"` // next page; absent on the last
	Count           int    `json:"count"`
	Timestamp       int64  `json:"timestamp"`
	Duration        int64  `json:"duration"`
	Organization    string `json:"organization,omitempty"`
	ApplicationName string `json:"applicationName,omitempty"`
}

// TokenRequest is the body of POST /{org}/{app}/token.
type TokenRequest struct {
	GrantType    string `json:"grant_type"` // "password" or "client_credentials"
	Username     string `json:"username,omitempty"`
	Password     string `json:"password,omitempty"`
	ClientID     string `json:"client_id,omitempty"`
	ClientSecret string `json:"client_secret,omitempty"`
	TTL          int64  `json:"ttl,omitempty"` // seconds; 0: 60 days
}

// TokenResponse is the reply of the token endpoints.
type TokenResponse struct {
	AccessToken string `json:"access_token"`
	ExpiresIn   int64  `json:"expires_in"`            // seconds
	User        *User  `json:"user,omitempty"`        // password grant
	Application string `json:"application,omitempty"` // app UUID, client_credentials grant
}

// NewUser is one user in the body of POST /{org}/{app}/users.
type NewUser struct {
	Username string `json:"username"`
	Password string `json:"password"`
	Nickname string `json:"nickname,omitempty"`
}

// NewApp is the body of POST /admin/v1/apps.
type NewApp struct {
	Org          string `json:"org"`
	Name         string `json:"name"`
	Registration string `json:"registration,omitempty"` // "open" (default) or "authorized"
}

// AppUUID is the UUID the API gives an app: a name-based (version 5 layout) UUID of its
// lower-cased key, so it is stable without being stored.
func AppUUID(key string) string {
	sum := sha1.Sum([]byte("duet-app:" + strings.ToLower(key)))
	b := sum[:16]
	b[6] = b[6]&0x0f | 0x50
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func msOf(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func userOf(u store.User) User {
	return User{UUID: u.UUID, Type: "user", Created: msOf(u.Created), Modified: msOf(u.Modified),
		Username: u.Username, Activated: u.Activated, Nickname: u.Nickname}
}

func usersOf(us []store.User) []User {
	out := make([]User, len(us))
	for i, u := range us {
		out[i] = userOf(u)
	}
	return out
}

// appOf shows an app; its client secret only when it is the clear one CreateApp or
// RotateClientSecret returned, never a stored one (a hash, or an old row's clear secret).
func appOf(a store.App, showSecret bool) App {
	app := App{Key: a.Key, UUID: AppUUID(a.Key), Org: a.Org, Name: a.Name, ClientID: a.ClientID,
		Registration: a.Registration, Created: msOf(a.Created)}
	if showSecret {
		app.ClientSecret = a.ClientSecret
	}
	return app
}

func callOf(c store.CallRecord) Call { return webhook.RecordOf(c) }
