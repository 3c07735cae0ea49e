package server

import (
	"context"

	"github.com/duet-rtc/duet/protocol"
	"github.com/duet-rtc/duet/server/api"
	"github.com/duet-rtc/duet/server/route"
)

// deviceAdmin gives the admin API the devices connected to this server or, on a node of a
// cluster, to any node (the presence replica knows the others').
type deviceAdmin struct{ s *Server }

var _ api.Devices = deviceAdmin{}

// OnlineDevices lists the user's connected devices, by device id.
func (a deviceAdmin) OnlineDevices(_ context.Context, app, user string) ([]api.OnlineDevice, error) {
	var list []route.Online
	if a.s.cluster != nil {
		list = a.s.cluster.OnlineDevices(app, user)
	} else {
		list = a.s.hub.OnlineDevices(app, user)
	}
	out := make([]api.OnlineDevice, 0, len(list))
	for _, d := range list {
		out = append(out, api.OnlineDevice{DeviceID: d.ID, Audio: d.Capabilities.Audio, Video: d.Capabilities.Video})
	}
	return out, nil
}

// KickDevice closes the device's connection with reason BeenKicked: here, or through the
// cluster on the node the replica places it on.
func (a deviceAdmin) KickDevice(_ context.Context, app, user, id string) (bool, error) {
	dev := route.Device{App: app, User: user, ID: id}
	if a.s.hub.Disconnect(dev, protocol.EndBeenKicked) { //nolint:contextcheck // the close outlives the request that asked for it
		return true, nil
	}
	if a.s.cluster == nil || !a.s.cluster.Connected(dev) {
		return false, nil
	}
	a.s.cluster.kickDevice(dev, protocol.EndBeenKicked)
	return true, nil
}
