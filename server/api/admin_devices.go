package api

import (
	"context"
	"net/http"
	"time"

	"github.com/duet-rtc/duet/protocol"
)

// OnlineDevice is a device of a user connected to the server (to any node of a cluster).
type OnlineDevice struct {
	DeviceID string `json:"deviceId"`
	Audio    bool   `json:"audio"` // the capabilities it announced in its hello
	Video    bool   `json:"video"`
}

// Devices lists and kicks the devices connected to the server; the server implements it
// (on a node of a cluster: the devices of every node).
type Devices interface {
	OnlineDevices(ctx context.Context, app, user string) ([]OnlineDevice, error)
	// KickDevice closes the device's connection (kicked, BeenKicked) and reports whether it
	// was connected.
	KickDevice(ctx context.Context, app, user, deviceID string) (bool, error)
}

// DeviceRoutes serves the operator's view of a user's connected devices:
//
//	GET    /admin/v1/apps/{org}/{app}/users/{name}/devices             the devices online
//	DELETE /admin/v1/apps/{org}/{app}/users/{name}/devices/{deviceId}  kicks one (reason 9)
//
// A kicked device's SDK stops reconnecting and reports the kick; its login token stays
// valid (revoke the user's tokens to sign them out everywhere).
func (a *API) DeviceRoutes(mux *http.ServeMux, devs Devices) {
	mux.Handle("GET /admin/v1/apps/{org}/{app}/users/{name}/devices", a.serve(func(w http.ResponseWriter, r *http.Request, start time.Time) error {
		app, u, err := a.adminUser(r)
		if err != nil {
			return err
		}
		list, err := devs.OnlineDevices(r.Context(), app.Key, u.Username)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, respond(a, r, app, "get", "/users/"+u.Username+"/devices", start, list))
		return nil
	}))
	mux.Handle("DELETE /admin/v1/apps/{org}/{app}/users/{name}/devices/{deviceId}", a.serve(func(w http.ResponseWriter, r *http.Request, start time.Time) error {
		app, u, err := a.adminUser(r)
		if err != nil {
			return err
		}
		id := r.PathValue("deviceId")
		if !protocol.ValidDeviceID(id) {
			return withStatus(protocol.NewError(protocol.CodeUserIllegalArgument, "deviceId must be 1-64 bytes of [A-Za-z0-9_.:-]"), http.StatusBadRequest, nameIllegalArgument)
		}
		kicked, err := devs.KickDevice(r.Context(), app.Key, u.Username, id)
		if err != nil {
			return err
		}
		if !kicked {
			return newHTTPError(http.StatusNotFound, nameNotFound, protocol.CodeUserNotLogin, "device %q of %q is not connected", id, u.Username)
		}
		writeJSON(w, http.StatusOK, respond(a, r, app, "delete", "/users/"+u.Username+"/devices/"+id, start, []OnlineDevice{{DeviceID: id}}))
		return nil
	}))
}
