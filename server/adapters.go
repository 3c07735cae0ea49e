package server

import (
	"context"
	"errors"

	"github.com/duet-rtc/duet/protocol"
	"github.com/duet-rtc/duet/server/account"
	"github.com/duet-rtc/duet/server/callflow"
	"github.com/duet-rtc/duet/server/route"
	"github.com/duet-rtc/duet/server/store"
)

// tokenAuth lets the hub authenticate devices with user tokens.
type tokenAuth struct{ acct *account.Service }

func (a tokenAuth) Authenticate(ctx context.Context, token string) (string, string, error) {
	t, err := a.acct.Authenticate(ctx, token)
	if err != nil {
		// The hub treats a bare *protocol.Error as the device's fault and anything else as
		// the server's; account wraps its coded errors, so unwrap them here.
		var pe *protocol.Error
		if errors.As(err, &pe) && pe.Code != protocol.CodeDatabase {
			return "", "", pe
		}
		return "", "", err
	}
	if t.Kind != store.TokenUser {
		return "", "", protocol.NewError(protocol.CodeInvalidToken, "an app token cannot log a device in")
	}
	return t.App, t.Username, nil
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

// handlerFunc breaks the construction cycle hub → engine → hub: the hub is built first
// with a handler that resolves the engine on each call.
type handlerFunc func() *callflow.Engine

func (f handlerFunc) DeviceOnline(dev route.Online, resume []string) { f().DeviceOnline(dev, resume) }
func (f handlerFunc) DeviceOffline(dev route.Device)                 { f().DeviceOffline(dev) }
func (f handlerFunc) HandleMessage(dev route.Device, env *protocol.Envelope) *protocol.Envelope {
	return f().HandleMessage(dev, env)
}
