package server

import (
	"context"
	"errors"

	"github.com/duet-rtc/duet/protocol"
	"github.com/duet-rtc/duet/server/account"
	"github.com/duet-rtc/duet/server/callflow"
	"github.com/duet-rtc/duet/server/callflow/wire"
	"github.com/duet-rtc/duet/server/route"
	"github.com/duet-rtc/duet/server/store"
)

// asyncPusher runs a waiting Pusher on a goroutine of its own, so that the invite that
// started it is answered at once and the caller's connection reader goes on: the push
// service bounds each push with its CallTimeout.
func asyncPusher(push func(app, callee string, inv protocol.CallIncoming, offlineText string) bool) func(string, string, protocol.CallIncoming, string, func(bool)) {
	return func(app, callee string, inv protocol.CallIncoming, offlineText string, done func(bool)) {
		go func() { done(push(app, callee, inv, offlineText)) }()
	}
}

// tokenAuth lets the hub authenticate devices with user tokens.
type tokenAuth struct{ acct *account.Service }

func (a tokenAuth) Authenticate(ctx context.Context, token string) (string, string, error) {
	app, user, _, err := a.AuthenticateSession(ctx, token)
	return app, user, err
}

// AuthenticateSession names the token's hash as the session, so that revoking the token
// closes the connections it opened (see revocations).
func (a tokenAuth) AuthenticateSession(ctx context.Context, token string) (string, string, string, error) {
	t, err := a.acct.Authenticate(ctx, token)
	if err != nil {
		// The hub treats a bare *protocol.Error as the device's fault and anything else as
		// the server's; account wraps its coded errors, so unwrap them here.
		var pe *protocol.Error
		if errors.As(err, &pe) && pe.Code != protocol.CodeDatabase {
			return "", "", "", pe
		}
		return "", "", "", err
	}
	if t.Kind != store.TokenUser {
		return "", "", "", protocol.NewError(protocol.CodeInvalidToken, "an app token cannot log a device in")
	}
	return t.App, t.Username, t.Hash, nil
}

// userDirectory tells the call flow whether a callee exists.
type userDirectory struct{ st store.Store }

func (u userDirectory) Exists(ctx context.Context, app, user string) (bool, error) {
	_, err := u.st.GetUser(ctx, app, protocol.NormalizeUsername(user))
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// callRequests is the hub's handler for calls. It resolves the engine on each call, which
// breaks the construction cycle hub → engine → hub (the hub is built first), and refuses
// new calls while the store fails. Answers and ends of calls in progress are still decided:
// they wait, unanswered, until the store takes them (a refused end would leave the device
// to hang up alone while the call stays live on the server).
type callRequests struct {
	engine  func() *callflow.Engine
	healthy func() bool
}

func (r callRequests) DeviceOnline(dev route.Online, resume []string) {
	r.engine().DeviceOnline(dev, resume)
}
func (r callRequests) DeviceOffline(dev route.Device) { r.engine().DeviceOffline(dev) }
func (r callRequests) HandleMessage(dev route.Device, env *protocol.Envelope) *protocol.Envelope {
	if env != nil && !r.healthy() {
		if env.Type == protocol.TypeCallInvite {
			return protocol.NewErrorReply(env.ID, protocol.NewError(protocol.CodeDatabase,
				"the store is unavailable; try again shortly"))
		}
	}
	return wire.Requests{Engine: r.engine()}.HandleMessage(dev, env)
}
