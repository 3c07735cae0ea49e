package duet

import (
	"context"

	"github.com/duet-rtc/duet/protocol"
)

// Push providers for BindDeviceToken.
const (
	PushProviderAPNs    = protocol.PushAPNs    // Apple Push Notification service
	PushProviderFCM     = protocol.PushFCM     // Firebase Cloud Messaging
	PushProviderWebhook = protocol.PushWebhook // the app's own push service, reached by the server's signed POST
	// PushProviderWebPush is a browser's Push API subscription: the token is the
	// PushSubscription's JSON (the browser SDK's bindWebPush sends it).
	PushProviderWebPush = protocol.PushWebPush
)

// PushOption refines BindDeviceToken.
type PushOption func(*protocol.PushBind)

// WithVoIP marks an APNs token as a PushKit (VoIP) token: incoming calls are pushed to it as
// VoIP pushes (topic "<bundle id>.voip"), and no alert goes to the device's plain token.
func WithVoIP() PushOption { return func(b *protocol.PushBind) { b.VoIP = true } }

// WithTopic sets the APNs topic (the app's bundle id) for this token, when it differs from
// the one configured for the app on the server.
func WithTopic(bundleID string) PushOption { return func(b *protocol.PushBind) { b.Topic = bundleID } }

// BindDeviceToken registers this device's push token with the server (the seed's
// bindDeviceToken): when the user has no online device, calls (with
// CallOptions.IsSendPushIfOffline) and text messages are pushed to it. A device has one
// token per provider (two for APNs: plain and VoIP); binding again replaces it. The binding
// lasts until UnbindDeviceToken, the provider reporting the token invalid, or another user
// binding the same token.
func (c *Client) BindDeviceToken(ctx context.Context, provider, token string, opts ...PushOption) error {
	b := protocol.PushBind{Provider: provider, Token: token}
	for _, o := range opts {
		o(&b)
	}
	if err := b.Check(); err != nil {
		return err
	}
	return c.request(ctx, protocol.TypePushBind, b, nil)
}

// UnbindDeviceToken removes this device's tokens of provider ("" for every provider), only
// token when it is not "". Call it before Logout when the device should stop getting pushes
// for the user.
func (c *Client) UnbindDeviceToken(ctx context.Context, provider, token string) error {
	u := protocol.PushUnbind{Provider: provider, Token: token}
	if err := u.Check(); err != nil {
		return err
	}
	return c.request(ctx, protocol.TypePushUnbind, u, nil)
}
