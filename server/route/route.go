// Package route names devices and the two things the call flow needs from the signalling
// layer: sending a message to a device and listing a user's online devices. It exists so
// that server/callflow and server/signal do not import each other.
package route

import "github.com/duet-rtc/duet/protocol"

// Device is one connected device of one user of one app.
type Device struct {
	App  string // "org#app"
	User string // lower-cased username
	ID   string // the device id from Hello
}

// Online is a connected device and what it can do.
type Online struct {
	Device
	Capabilities protocol.Capabilities
}

// Sender delivers a message to one device. It reports false when the device is not
// connected; it never blocks on a slow device (slow devices are dropped instead).
type Sender interface {
	Send(to Device, env *protocol.Envelope) bool
}

// Directory lists the connected devices of a user.
type Directory interface {
	OnlineDevices(app, user string) []Online
}
