package store

import (
	"context"
	"time"
)

// PushBinding is one device's push token. A device has at most one binding per (Provider,
// VoIP); a token belongs to one device of one app at a time.
type PushBinding struct {
	App      string
	User     string // lower-cased
	Device   string
	Provider string // protocol.PushAPNs, PushFCM or PushWebhook
	Token    string
	VoIP     bool   // an APNs PushKit token
	Topic    string // APNs topic override; "" for the app's
	Updated  time.Time
}

// PushCredentials are one app's credentials for one provider. Config is the provider's
// JSON document, secrets included: nothing outside server/push may log or return it.
type PushCredentials struct {
	App      string
	Provider string
	Config   []byte
	Updated  time.Time
}

// PushStore keeps devices' push tokens and apps' provider credentials.
type PushStore interface {
	// BindPushToken stores b, replacing the device's binding of the same (Provider, VoIP)
	// and taking the token away from any other device of the app. ErrNotFound when the
	// user does not exist.
	BindPushToken(ctx context.Context, b PushBinding) error
	// UnbindPushTokens removes the device's bindings of provider ("" for every provider),
	// only token's when token is not "", and returns how many it removed.
	UnbindPushTokens(ctx context.Context, app, user, device, provider, token string) (int64, error)
	// RemovePushToken removes token of provider wherever it is bound in app (the provider
	// said it is no longer valid).
	RemovePushToken(ctx context.Context, app, provider, token string) error
	// PushBindings returns every binding of user, by device then provider.
	PushBindings(ctx context.Context, app, user string) ([]PushBinding, error)

	// PutPushCredentials inserts or replaces c. ErrNotFound when the app does not exist.
	PutPushCredentials(ctx context.Context, c PushCredentials) error
	// AddPushCredentials inserts c unless the app has credentials for c.Provider already,
	// and reports whether it did: the first of two writers wins (a key pair made on first
	// use by two nodes at once). ErrNotFound when the app does not exist.
	AddPushCredentials(ctx context.Context, c PushCredentials) (bool, error)
	// GetPushCredentials returns the app's credentials for provider, or ErrNotFound.
	GetPushCredentials(ctx context.Context, app, provider string) (PushCredentials, error)
	// ListPushCredentials returns the app's credentials, by provider.
	ListPushCredentials(ctx context.Context, app string) ([]PushCredentials, error)
	// DeletePushCredentials removes the app's credentials for provider; ErrNotFound if none.
	DeletePushCredentials(ctx context.Context, app, provider string) error
}
