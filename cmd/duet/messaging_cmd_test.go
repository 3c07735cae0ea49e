package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/duet-rtc/duet/server"
	"github.com/duet-rtc/duet/server/push/pushtest"
	"github.com/duet-rtc/duet/server/servertest"
)

func TestAppPushAndWebhookCommands(t *testing.T) {
	apns := pushtest.NewAPNs(t)
	srv := servertest.Start(t)
	admin := []string{"--server", srv.URL, "--admin-token", srv.AdminToken(), "--app", srv.AppKey}
	key := filepath.Join(t.TempDir(), "AuthKey.p8")
	if err := os.WriteFile(key, []byte(apns.KeyPEM), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := runCLI(t, append([]string{"app", "push", "set", "--provider", "apns", "--key-file", key, "--key-id", apns.KeyID,
		"--team-id", apns.TeamID, "--topic", "com.example.duet", "--host", apns.URL}, admin...)...)
	if err != nil || !strings.Contains(out, "apns credentials set") {
		t.Fatalf("push set: %v\n%s", err, out)
	}
	out, err = runCLI(t, append([]string{"app", "push", "list", "--json"}, admin...)...)
	if err != nil || !strings.Contains(out, `"keyId": "`+apns.KeyID) || strings.Contains(out, "PRIVATE KEY") || !strings.Contains(out, "(redacted)") {
		t.Fatalf("push list: %v\n%s", err, out)
	}
	if _, err := runCLI(t, append([]string{"app", "push", "set", "--provider", "apns", "--topic", "x"}, admin...)...); err == nil {
		t.Fatal("apns without a key or certificate was accepted")
	}
	if _, err := runCLI(t, append([]string{"app", "push", "delete", "--provider", "apns"}, admin...)...); err != nil {
		t.Fatalf("push delete: %v", err)
	}

	out, err = runCLI(t, append([]string{"app", "webhook", "set", "--url", "https://hooks.example/duet"}, admin...)...)
	if err != nil || !strings.Contains(out, "secret whsec_") {
		t.Fatalf("webhook set: %v\n%s", err, out)
	}
	id := strings.Fields(out)[1]
	out, err = runCLI(t, append([]string{"app", "webhook", "list"}, admin...)...)
	if err != nil || strings.TrimSpace(out) != id+"\thttps://hooks.example/duet" {
		t.Fatalf("webhook list: %v\n%q", err, out)
	}
	out, err = runCLI(t, append([]string{"app", "webhook", "deadletters", "--json"}, admin...)...)
	if err != nil || strings.TrimSpace(out) != "[]" && strings.TrimSpace(out) != "null" {
		t.Fatalf("deadletters: %v\n%s", err, out)
	}
	out, err = runCLI(t, append([]string{"app", "webhook", "deadletters", "--retry"}, admin...)...)
	if err != nil || !strings.Contains(out, "retrying 0") {
		t.Fatalf("deadletters --retry: %v\n%s", err, out)
	}
	if _, err := runCLI(t, append([]string{"app", "webhook", "delete", id}, admin...)...); err != nil {
		t.Fatalf("webhook delete: %v", err)
	}
}

// TestPushCallAndMessageCommands: `duet push bind` registers bob's phone, `duet call
// --push-if-offline` reports callRemoteOffline and the push reaches APNs, and `duet message
// listen` prints what `duet message send` sent while bob was offline.
func TestPushCallAndMessageCommands(t *testing.T) {
	apns := pushtest.NewAPNs(t)
	srv := servertest.Start(t, servertest.WithRingTimeout(2*time.Second),
		func(c *server.Config) { c.OutboundTLS = pushtest.TLSConfig(apns.Server) })
	srv.AddUser("alice", "pw")
	srv.AddUser("bob", "pw")
	admin := []string{"--server", srv.URL, "--admin-token", srv.AdminToken(), "--app", srv.AppKey}
	key := filepath.Join(t.TempDir(), "AuthKey.p8")
	os.WriteFile(key, []byte(apns.KeyPEM), 0o600)
	if _, err := runCLI(t, append([]string{"app", "push", "set", "--provider", "apns", "--key-file", key, "--key-id", apns.KeyID,
		"--team-id", apns.TeamID, "--topic", "com.example.duet", "--host", apns.URL}, admin...)...); err != nil {
		t.Fatal(err)
	}
	as := func(user string, args ...string) []string {
		return append(args, "--server", srv.URL, "--appkey", srv.AppKey, "--user", user, "--password", "pw")
	}
	if out, err := runCLI(t, as("bob", "push", "bind", "--device", "bob-phone", "--provider", "apns", "--token", "cafe01", "--voip")...); err != nil || !strings.Contains(out, "bound apns token") {
		t.Fatalf("push bind: %v\n%s", err, out)
	}

	out, err := runCLI(t, as("alice", "call", "--to", "bob", "--push-if-offline", "--json", "--loopback", "--expect-reason", "1", "--timeout", "30s")...)
	if err != nil || !strings.Contains(out, `"event":"callRemoteOffline"`) {
		t.Fatalf("call --push-if-offline: %v\n%s", err, out)
	}
	if p := apns.Wait(t, 10*time.Second); p.Token != "cafe01" || p.PushType != "voip" {
		t.Fatalf("push %+v", p)
	}

	for _, text := range []string{"first", "second"} {
		out, err := runCLI(t, as("alice", "message", "send", "--json", "--to", "bob", text, "--ext", `{"k":"v"}`)...)
		var line messageLine
		if err != nil || json.Unmarshal([]byte(out), &line) != nil || line.Text != text || line.To != "bob" || line.Ext["k"] != "v" {
			t.Fatalf("message send: %v\n%s", err, out)
		}
	}
	out, err = runCLI(t, as("bob", "message", "listen", "--json", "--device", "bob-phone", "--count", "2", "--timeout", "20s")...)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if err != nil || len(lines) != 2 || !strings.Contains(lines[0], `"text":"first"`) || !strings.Contains(lines[1], `"text":"second"`) {
		t.Fatalf("message listen: %v\n%s", err, out)
	}
	if _, err := runCLI(t, as("bob", "message", "send", "--to", "nobody", "x")...); err == nil {
		t.Fatal("a message to an unknown user was accepted")
	}
	if out, err := runCLI(t, as("bob", "push", "unbind", "--device", "bob-phone")...); err != nil || !strings.Contains(out, "unbound") {
		t.Fatalf("push unbind: %v\n%s", err, out)
	}
}
