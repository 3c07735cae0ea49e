package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/duet-rtc/duet/protocol"
	"github.com/duet-rtc/duet/server/api"
	"github.com/duet-rtc/duet/server/servertest"
)

// onlineDevices lists a user's connected devices through the admin API of srv.
func onlineDevices(t *testing.T, srv *servertest.Server, user string) []api.OnlineDevice {
	t.Helper()
	status, body := srv.Do(http.MethodGet, adminUserPath(srv, user)+"/devices", srv.AdminToken(), nil)
	var resp api.Response[api.OnlineDevice]
	if status != http.StatusOK || json.Unmarshal(body, &resp) != nil {
		t.Fatalf("devices of %s: %d %s", user, status, body)
	}
	return resp.Entities
}

// kickDevice kicks a device through the admin API of srv and returns the status and body.
func kickDevice(srv *servertest.Server, user, id string) (int, string) {
	status, body := srv.Do(http.MethodDelete, adminUserPath(srv, user)+"/devices/"+id, srv.AdminToken(), nil)
	return status, string(body)
}

func adminUserPath(srv *servertest.Server, user string) string {
	return "/admin/v1/apps/" + strings.Replace(srv.AppKey, "#", "/", 1) + "/users/" + user
}

// expectKicked waits for d's kicked message and checks its reason.
func expectKicked(ctx context.Context, t *testing.T, d *rawDevice, want protocol.EndReason) {
	t.Helper()
	env, err := d.readUntil(ctx, protocol.TypeKicked)
	var k protocol.Kicked
	if err != nil || env.DecodeDataLoose(&k) != nil || k.Reason != want {
		t.Fatalf("kicked %+v, %v; want reason %d", k, err, want)
	}
}

// TestOperatorKicksDevice: the admin API lists a user's connected devices with their
// capabilities and kicks one of them (BeenKicked); the other stays, and what cannot be
// kicked gets its code.
func TestOperatorKicksDevice(t *testing.T) {
	srv := servertest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	tok := userToken(t, srv, "nina")
	phone, err := dialDevice(ctx, srv.URL, tok, "phone")
	if err != nil {
		t.Fatal(err)
	}
	laptop, err := dialDevice(ctx, srv.URL, tok, "laptop")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { phone.ws.CloseNow(); laptop.ws.CloseNow() })

	devs := onlineDevices(t, srv, "nina")
	if len(devs) != 2 || devs[0].DeviceID != "phone" && devs[1].DeviceID != "phone" {
		t.Fatalf("devices %+v; want phone and laptop", devs)
	}
	if status, body := kickDevice(srv, "nina", "phone"); status != http.StatusOK {
		t.Fatalf("kick: %d %s", status, body)
	}
	expectKicked(ctx, t, phone, protocol.EndBeenKicked)
	waitUntilDevices(t, srv, "nina", 1)
	if devs := onlineDevices(t, srv, "nina"); devs[0].DeviceID != "laptop" {
		t.Fatalf("after the kick: %+v; want the laptop only", devs)
	}
	for _, c := range []struct {
		user, id string
		status   int
		code     protocol.ErrorCode
	}{
		{"nina", "phone", http.StatusNotFound, protocol.CodeUserNotLogin},
		{"nina", "bad%20id", http.StatusBadRequest, protocol.CodeUserIllegalArgument},
		{"nobody", "phone", http.StatusNotFound, protocol.CodeUserNotFound},
	} {
		status, body := kickDevice(srv, c.user, c.id)
		if status != c.status || !strings.Contains(body, fmt.Sprintf(`"code":%d`, c.code)) {
			t.Errorf("kick %s/%s: %d %s; want %d with code %d", c.user, c.id, status, body, c.status, c.code)
		}
	}
}

// waitUntilDevices waits until the user has n devices online (a kicked one goes offline
// once its connection has closed).
func waitUntilDevices(t *testing.T, srv *servertest.Server, user string, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for len(onlineDevices(t, srv, user)) != n {
		if time.Now().After(deadline) {
			t.Fatalf("%s never had %d devices online", user, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
