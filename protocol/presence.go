package protocol

// Presence: a device subscribes to the online state of users; the server pushes each change
// while the connection lasts (docs/PROTOCOL.md "Presence"). Whose presence a user may see is
// the app's policy: every user of the app (default) or only those who have them as a contact.
const (
	TypePresenceSubscribe   = "presence.subscribe"   // c→s PresenceSubscribe; reply PresenceSubscribed
	TypePresenceUnsubscribe = "presence.unsubscribe" // c→s PresenceUnsubscribe; reply empty
	TypePresence            = "presence"             // s→c Presence: one user came online or went offline
)

// CodePresenceForbidden means the app's presence policy does not let this user see that
// user's presence (policy "contacts", and the other user does not have this one as a contact).
const CodePresenceForbidden ErrorCode = 914

// Bounds of presence subscriptions.
const (
	MaxPresenceUsersPerRequest = 200  // usernames in one presence.subscribe
	MaxPresenceUsers           = 1000 // usernames one connection watches by name
	MaxPresenceListed          = 1000 // online users listed in the reply to an app subscription
)

// PresenceSubscribe adds to this connection's subscription. Subscriptions last as long as
// the connection: a device subscribes again after it reconnects (the SDKs do).
type PresenceSubscribe struct {
	// Users are watched by name (at most MaxPresenceUsersPerRequest here, MaxPresenceUsers in
	// all); each one the policy hides is refused with CodePresenceForbidden.
	Users []string `json:"users,omitempty"`
	// Contacts watches everyone in this user's contact list, as the list changes.
	Contacts bool `json:"contacts,omitempty"`
	// App watches every user of the app the policy lets this user see.
	App bool `json:"app,omitempty"`
}

// Check validates a PresenceSubscribe.
func (p *PresenceSubscribe) Check() error {
	if len(p.Users) > MaxPresenceUsersPerRequest {
		return NewError(CodeBadMessage, "at most %d users per presence.subscribe", MaxPresenceUsersPerRequest)
	}
	for _, u := range p.Users {
		if err := CheckUsername(u); err != nil {
			return err
		}
	}
	return nil
}

// PresenceSubscribed answers PresenceSubscribe with the present state: each user named in
// Users that the policy shows, the contacts (Contacts) and, for App, the users online now.
type PresenceSubscribed struct {
	Presence []Presence        `json:"presence"`
	Refused  []PresenceRefusal `json:"refused,omitempty"`
	// Truncated: App listed MaxPresenceListed online users and there are more.
	Truncated bool `json:"truncated,omitempty"`
}

// PresenceRefusal names a user of PresenceSubscribe.Users that is not watched, and why.
type PresenceRefusal struct {
	Username string    `json:"username"`
	Code     ErrorCode `json:"code"`
}

// Presence is one user's presence: online when at least one of their devices is connected.
type Presence struct {
	Username string `json:"username"`
	Online   bool   `json:"online"`
}

// PresenceUnsubscribe takes users, the contacts, the app or everything out of the
// subscription.
type PresenceUnsubscribe struct {
	Users    []string `json:"users,omitempty"`
	Contacts bool     `json:"contacts,omitempty"`
	App      bool     `json:"app,omitempty"`
	All      bool     `json:"all,omitempty"`
}

// Check validates a PresenceUnsubscribe.
func (p *PresenceUnsubscribe) Check() error {
	if len(p.Users) > MaxPresenceUsers {
		return NewError(CodeBadMessage, "at most %d users per presence.unsubscribe", MaxPresenceUsers)
	}
	return nil
}
