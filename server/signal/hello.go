package signal

import (
	"context"
	"errors"

	"github.com/coder/websocket"

	"github.com/duet-rtc/duet/protocol"
	"github.com/duet-rtc/duet/server/route"
)

// hello handles the first frame: it must be a hello offering a protocol version and a token
// the Authenticator accepts. Then the device is registered, Welcome queued, and the handler
// told. Otherwise the device gets the error (as the reply to the hello when it has an id) and
// the connection is closed.
func (c *conn) hello(typ websocket.MessageType, frame []byte) {
	env, err := protocol.DecodeEnvelope(frame)
	if err != nil || typ != websocket.MessageText || env.Type != protocol.TypeHello {
		c.refuse(idOf(env), protocol.NewError(protocol.CodeNotHello, "the first frame must be a hello"))
		return
	}
	var h protocol.Hello
	version, err := c.negotiate(env, &h)
	if err != nil {
		c.refuse(env.ID, err)
		return
	}

	kicks := c.hub.kicks.Load()
	app, user, session, err := c.authenticate(h.Token)
	if err != nil {
		c.refuse(env.ID, err)
		return
	}

	hub := c.hub
	interval := hub.cfg.pingInterval(h.PingInterval)
	dev := route.Online{Device: route.Device{App: app, User: user, ID: h.DeviceID}, Capabilities: h.Capabilities}
	welcome := hub.encode(protocol.NewReply(env.ID, protocol.Welcome{
		Version:      version,
		AppKey:       app,
		Username:     user,
		DeviceID:     h.DeviceID,
		PingInterval: int(interval.Seconds()),
		ServerTime:   hub.clock.Now().UnixMilli(),
		Boot:         hub.cfg.Boot,
	}))
	timeout := int64(float64(interval) * HeartbeatFactor)
	if err := hub.register(c, dev, session, welcome, timeout); err != nil {
		if err != errClosing { // else the hub is shutting down or this connection closing
			c.refuse(env.ID, err)
		}
		return
	}
	c.flushFromReader() // the welcome goes out before the handler hears of the device
	if a, ok := c.nc.(authenticatedConn); ok {
		a.Authenticated() // no longer counted against its address (server/limit)
	}
	hub.m.logins.Inc()
	hub.log.Debug("signal: device online", "remote", c.nc.RemoteAddr(), "app", app, "user", user, "device", h.DeviceID)
	c.callHandler(func() { hub.handler.DeviceOnline(dev, h.Calls) })
	if hub.kicks.Load() != kicks {
		// Checked after DeviceOnline so that the handler sees the usual online/offline pair.
		c.recheck(h.Token)
	}
}

// recheck checks the token of a connection just registered again, after a kick that came
// while it was being authenticated: a revoked token is kicked now (TokenRevoked), as
// KickSession would have done had the connection been registered then.
func (c *conn) recheck(token string) {
	if _, _, _, err := c.authenticate(token); err == nil || protocol.CodeOf(err) == protocol.CodeServerBusy {
		return
	}
	c.closeWith(kickedRevoked, CloseKicked, "kicked: "+protocol.EndTokenRevoked.String(), dropKicked)
}

// kickedRevoked is the frame of a connection whose token was revoked.
var kickedRevoked, _ = protocol.NewMessage(protocol.TypeKicked, "", protocol.Kicked{Reason: protocol.EndTokenRevoked}).Encode()

// authenticate asks the Authenticator, bounded by HelloTimeout. A refusal that is not a
// *protocol.Error is the server's own failure: it is logged and the device told to retry.
func (c *conn) authenticate(token string) (app, user, session string, err error) {
	hub := c.hub
	ctx, cancel := context.WithTimeout(hub.ctx, hub.cfg.HelloTimeout)
	defer cancel()
	if sa, ok := hub.auth.(SessionAuthenticator); ok {
		app, user, session, err = sa.AuthenticateSession(ctx, token)
	} else {
		app, user, err = hub.auth.Authenticate(ctx, token)
	}
	if err == nil && (app == "" || user == "") {
		err = errEmptyIdentity
	}
	if err != nil {
		if _, ok := err.(*protocol.Error); !ok {
			if hub.ctx.Err() == nil { // not merely cut short by Shutdown
				hub.log.Warn("signal: authentication failed", "remote", c.nc.RemoteAddr(), "err", err)
			}
			err = protocol.NewError(protocol.CodeServerBusy, "authentication is unavailable; try again later")
		}
		return "", "", "", err
	}
	return app, user, session, nil
}

// negotiate decodes the hello into h and picks the protocol version. The version comes
// first: a client too old or too new deserves to hear that rather than what else is wrong
// with its hello.
func (c *conn) negotiate(env *protocol.Envelope, h *protocol.Hello) (int, error) {
	if err := env.DecodeDataLoose(h); err != nil {
		return 0, err
	}
	version, err := protocol.Negotiate(h.Offered(), c.hub.cfg.MinVersion, c.hub.cfg.MaxVersion)
	if err != nil {
		return 0, err
	}
	return version, h.Check()
}

// authenticatedConn is a socket that counts against its source address's limit of
// unauthenticated connections until told otherwise (server/limit.Conn).
type authenticatedConn interface{ Authenticated() }

var errEmptyIdentity = errors.New("the Authenticator returned an empty app or user")

// refuse answers a failed hello with err and closes the connection.
func (c *conn) refuse(id string, err error) {
	if c.closeWith(c.hub.encode(protocol.NewErrorReply(id, err)), closeCodeFor(err), closeReason(err), dropHello) {
		c.hub.m.loginFailures.Inc()
		c.hub.log.Debug("signal: hello refused", "remote", c.nc.RemoteAddr(), "err", err)
	}
}
