// Package store defines what duet keeps: apps, users, tokens and call records. The embedded
// default implementation is store/sqlite; every other package sees only these interfaces.
package store

import (
	"context"
	"errors"
	"time"
)

// Errors returned by every Store implementation; wrap with context, test with errors.Is.
var (
	ErrNotFound  = errors.New("store: not found")
	ErrDuplicate = errors.New("store: already exists")
)

// Registration modes of an app.
const (
	RegistrationOpen       = "open"       // anyone may register users
	RegistrationAuthorized = "authorized" // registering needs the app token
)

// App is one application: a namespace of users, keyed "org#app" as in the seed.
type App struct {
	Key       string // "org#app"
	Org, Name string
	ClientID  string
	// ClientSecret is the secret as stored: its hash (account.HashSecret), or the secret
	// itself in rows from before secrets were hashed.
	ClientSecret string
	Registration string // RegistrationOpen or RegistrationAuthorized
	Created      time.Time
}

// User is an account inside an app. Username is stored lower-cased (usernames are
// case-insensitive).
type User struct {
	UUID         string
	App          string
	Username     string
	Nickname     string
	PasswordHash string // argon2id, PHC string format
	Activated    bool
	Created      time.Time
	Modified     time.Time
}

// Token kinds.
const (
	TokenUser = "user" // a user's login token
	TokenApp  = "app"  // an app token from client_credentials
)

// Token is an issued bearer token. Only its SHA-256 hash is stored.
type Token struct {
	Hash     string // hex SHA-256 of the token
	App      string
	Kind     string // TokenUser or TokenApp
	Username string // for user tokens
	Created  time.Time
	Expires  time.Time // zero: never
}

// CallRecord is the durable record of one call.
type CallRecord struct {
	ID           string
	App          string
	Caller       string
	CallerDevice string
	Callee       string
	CalleeDevice string // the device that answered, "" if none did
	Type         int    // protocol.CallType
	Ext          string
	Record       bool
	MergeStream  bool
	InvitedAt    time.Time
	RingingAt    time.Time // zero: no device rang
	ConnectedAt  time.Time // zero: transport never came up
	AcceptedAt   time.Time // zero: not accepted
	EndedAt      time.Time
	EndReason    int    // protocol.EndReason
	EndedBy      string // username, or "" when the server ended it
	ConnectType  int    // protocol.ConnectType
	// ServerVideoID names the call's recordings (RecordingStore) when it was recorded.
	ServerVideoID string
}

// CallFilter selects call records. Zero fields do not filter.
type CallFilter struct {
	User   string    // caller or callee
	Since  time.Time // invited at or after
	Until  time.Time // invited before
	Cursor string    // from a previous page
	Limit  int       // 1-100, default 20
}

// Store is duet's persistence. Implementations are safe for concurrent use.
type Store interface {
	CreateApp(ctx context.Context, app App) error
	GetApp(ctx context.Context, key string) (App, error)
	ListApps(ctx context.Context) ([]App, error)
	// SetAppSecret replaces the stored client secret of the app with key (compared
	// case-insensitively); store.ErrNotFound if there is no such app.
	SetAppSecret(ctx context.Context, key, secret string) error
	// SetAppRegistration changes the registration mode of the app with key (compared
	// case-insensitively); store.ErrNotFound if there is none.
	SetAppRegistration(ctx context.Context, key, registration string) error

	// CreateUsers inserts all users or none (ErrDuplicate if any exists).
	CreateUsers(ctx context.Context, users []User) error
	GetUser(ctx context.Context, app, username string) (User, error)
	// ListUsers returns up to limit users after the cursor username, in username order.
	ListUsers(ctx context.Context, app, cursor string, limit int) ([]User, error)
	// DeleteUser removes the user and all of the user's tokens.
	DeleteUser(ctx context.Context, app, username string) error
	SetPassword(ctx context.Context, app, username, hash string) error

	PutToken(ctx context.Context, t Token) error
	GetToken(ctx context.Context, hash string) (Token, error)
	DeleteToken(ctx context.Context, hash string) error
	DeleteUserTokens(ctx context.Context, app, username string) error

	// SaveCalls writes (inserts or replaces) call records in one transaction.
	SaveCalls(ctx context.Context, calls []CallRecord) error
	GetCall(ctx context.Context, app, id string) (CallRecord, error)
	// ListCalls returns records of one app, newest first, and the cursor of the next page
	// ("" when there is none).
	ListCalls(ctx context.Context, app string, f CallFilter) ([]CallRecord, string, error)

	Close() error
}
