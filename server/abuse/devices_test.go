package abuse_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/duet-rtc/duet/protocol"
	"github.com/duet-rtc/duet/server"
	"github.com/duet-rtc/duet/server/servertest"
)

func TestDevicesPerUser(t *testing.T) {
	s := servertest.Start(t)
	s.AddUser("alice", "secret-1")
	tok := login(t, s, "alice", "secret-1")
	var devs []*device
	for i := range server.DefaultMaxDevicesPerUser {
		devs = append(devs, connect(t, s, tok, fmt.Sprintf("d%d", i)))
	}
	_, err := tryConnect(t, s, tok, "one-too-many")
	if protocol.CodeOf(err) != protocol.CodeTooManyDevices {
		t.Fatalf("device %d: %v, want code %d", server.DefaultMaxDevicesPerUser+1, err, protocol.CodeTooManyDevices)
	}
	// A device replacing its own connection is not one more.
	devs[0] = connect(t, s, tok, "d0")
	// Once one leaves, another gets in.
	devs[1].ws.CloseNow()
	var d *device
	for deadline := time.Now().Add(wait); time.Now().Before(deadline); { // the hub hears of the close on its own goroutine
		if d, err = tryConnect(t, s, tok, "newcomer"); err == nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("after a device left: %v", err)
	}
	if err := d.ping(); err != nil {
		t.Fatal(err)
	}
}

// TestRingingFanOut calls a user with many devices: the caller gets its call id and one
// call.ringing per device without being dropped as a slow consumer.
func TestRingingFanOut(t *testing.T) {
	const devices = 64
	s := servertest.Start(t, func(c *server.Config) { c.MaxDevicesPerUser = devices })
	s.AddUser("caller", "secret-1")
	s.AddUser("callee", "secret-2")
	tok := login(t, s, "callee", "secret-2")
	for i := range devices {
		connect(t, s, tok, fmt.Sprintf("d%d", i)) // one after another: one address's quota
	}
	caller := connect(t, s, login(t, s, "caller", "secret-1"), "phone")

	id := caller.send(protocol.TypeCallInvite, protocol.CallInvite{To: "callee", Type: protocol.CallVoice})
	var callID string
	ringing := map[string]bool{}
	for callID == "" || len(ringing) < devices {
		env, err := caller.tryRead()
		if err != nil {
			t.Fatalf("caller cut off after the reply (%q) and %d ringing frames: %v", callID, len(ringing), err)
		}
		switch {
		case env.Type == protocol.TypeReply && env.ID == id:
			var inv protocol.CallInvited
			if env.Error != nil || env.DecodeData(&inv) != nil {
				t.Fatalf("invite: %+v", env)
			}
			callID = inv.CallID
		case env.Type == protocol.TypeCallRinging:
			var r protocol.CallRinging
			env.DecodeData(&r)
			ringing[r.Device] = true
		}
	}
	if err := caller.ping(); err != nil {
		t.Fatalf("caller after the fan-out: %v", err)
	}
	// The call can end at once: the callee is not left busy.
	if env, err := caller.request(protocol.TypeCallEnd, protocol.CallEnd{CallID: callID}); err != nil || env.Error != nil {
		t.Fatalf("end: %v %+v", err, env)
	}
}
