package duet

// ConnectionDelegate receives the device connection's events: EMClientDelegate.
type ConnectionDelegate interface {
	// ConnectionStateDidChange reports that the device connection went up or down. While
	// logged in, the SDK reconnects by itself after a loss.
	ConnectionStateDidChange(state ConnectionState)
	// UserAccountDidLoginFromOtherDevice reports that another connection with the same
	// device id replaced this one (LoginOtherDevice, 7); the SDK stops reconnecting.
	UserAccountDidLoginFromOtherDevice()
	// UserAccountDidRemoveFromServer reports that the user was deleted (Destroy, 8).
	UserAccountDidRemoveFromServer()
	// UserDidForbidByServer reports that the server kicked the user (BeenKicked, 9).
	UserDidForbidByServer()
	// TokenDidExpire reports that the server refused the login token on reconnect, or closed
	// the connection because the token was revoked (kicked, TokenRevoked 11: a logout or a
	// password change); the app must log in again.
	TokenDidExpire(code ErrorCode)
	// UpgradeRequired reports that the server no longer speaks any protocol version this
	// SDK speaks (ErrorUpgradeRequired, 911): the app must be upgraded; the SDK stops
	// reconnecting. Login fails with the same code.
	UpgradeRequired()
}

// ConnectionDelegateBase implements ConnectionDelegate with no-ops; embed it and override
// what you need.
type ConnectionDelegateBase struct{}

// ConnectionStateDidChange does nothing.
func (ConnectionDelegateBase) ConnectionStateDidChange(ConnectionState) {}

// UserAccountDidLoginFromOtherDevice does nothing.
func (ConnectionDelegateBase) UserAccountDidLoginFromOtherDevice() {}

// UserAccountDidRemoveFromServer does nothing.
func (ConnectionDelegateBase) UserAccountDidRemoveFromServer() {}

// UserDidForbidByServer does nothing.
func (ConnectionDelegateBase) UserDidForbidByServer() {}

// TokenDidExpire does nothing.
func (ConnectionDelegateBase) TokenDidExpire(ErrorCode) {}

// UpgradeRequired does nothing.
func (ConnectionDelegateBase) UpgradeRequired() {}
