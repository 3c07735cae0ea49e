package store

import (
	"context"
	"time"
)

// Presence policies of an app: whose presence a user may see (docs/PROTOCOL.md "Presence").
const (
	PresenceApp      = "app"      // every user of the app sees every other's presence (default)
	PresenceContacts = "contacts" // a user sees the presence of those who have them as a contact
)

// ValidPresencePolicy reports whether p is a presence policy.
func ValidPresencePolicy(p string) bool { return p == PresenceApp || p == PresenceContacts }

// MaxContacts bounds one user's contact list.
const MaxContacts = 10000

// ContactStore keeps each user's contact list (the seed's Contact module), the app's
// presence policy, and finds an app's users by the start of their names.
type ContactStore interface {
	// AddContact puts contact in owner's list; adding one already there changes nothing.
	// store.ErrNotFound when either user does not exist.
	AddContact(ctx context.Context, app, owner, contact string, at time.Time) error
	// RemoveContact takes contact out of owner's list; store.ErrNotFound if it was not there.
	RemoveContact(ctx context.Context, app, owner, contact string) error
	// ListContacts returns up to limit of owner's contacts after cursor, in username order.
	ListContacts(ctx context.Context, app, owner, cursor string, limit int) ([]string, error)
	// CountContacts is the length of owner's list.
	CountContacts(ctx context.Context, app, owner string) (int, error)
	// HasContact reports whether contact is in owner's list.
	HasContact(ctx context.Context, app, owner, contact string) (bool, error)

	// SearchUsers returns up to limit users of app whose usernames start with prefix
	// (lower-case; "" matches all) and sort after cursor, in username order.
	SearchUsers(ctx context.Context, app, prefix, cursor string, limit int) ([]User, error)

	// PresencePolicy returns the app's presence policy (PresenceApp when never set).
	PresencePolicy(ctx context.Context, app string) (string, error)
	// SetPresencePolicy sets it; store.ErrNotFound when there is no such app.
	SetPresencePolicy(ctx context.Context, app, policy string) error
}

// PrefixEnd is the first string after every string that starts with prefix, among
// usernames ([a-z0-9_.-] once lower-cased: all below "~").
func PrefixEnd(prefix string) string { return prefix + "~" }
