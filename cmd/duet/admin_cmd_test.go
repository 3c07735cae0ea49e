package main

import (
	"bytes"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/duet-rtc/duet/server/servertest"
)

// runCLI runs the duet command line with args and returns what it printed.
func runCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	old := os.Stdout
	r, w, _ := os.Pipe()
	os.Stdout = w
	root := rootCommand()
	root.SetArgs(args)
	err := root.Execute()
	w.Close()
	os.Stdout = old
	var buf bytes.Buffer
	io.Copy(&buf, r)
	return buf.String(), err
}

func TestAppAndUserCommands(t *testing.T) {
	srv := servertest.Start(t)
	admin := []string{"--server", srv.URL, "--admin-token", srv.AdminToken()}
	out, err := runCLI(t, append([]string{"app", "create", "acme#phone", "--registration", "authorized"}, admin...)...)
	if err != nil || !strings.Contains(out, "appkey acme#phone") || !strings.Contains(out, "client_secret") {
		t.Fatalf("app create: %v\n%s", err, out)
	}
	out, err = runCLI(t, append([]string{"app", "list"}, admin...)...)
	if err != nil || !strings.Contains(out, "acme#phone\tauthorized") || !strings.Contains(out, "demo#duet\topen") {
		t.Fatalf("app list: %v\n%s", err, out)
	}
	if _, err := runCLI(t, append([]string{"user", "add", "Bob", "--password", "pw", "--app", "acme#phone"}, admin...)...); err != nil {
		t.Fatalf("user add: %v", err)
	}
	out, err = runCLI(t, append([]string{"user", "list", "--app", "acme#phone"}, admin...)...)
	if err != nil || strings.TrimSpace(out) != "bob" {
		t.Fatalf("user list: %v\n%q", err, out)
	}
	if _, err := runCLI(t, append([]string{"user", "delete", "bob", "--app", "acme#phone"}, admin...)...); err != nil {
		t.Fatalf("user delete: %v", err)
	}
	if _, err := runCLI(t, append([]string{"user", "delete", "bob", "--app", "acme#phone"}, admin...)...); err == nil {
		t.Fatal("deleting a missing user succeeded")
	}
	if _, err := runCLI(t, "app", "list", "--server", srv.URL, "--admin-token", "wrong"); err == nil {
		t.Fatal("a wrong admin token was accepted")
	}
}

func TestAppSettingsCommand(t *testing.T) {
	srv := servertest.Start(t)
	admin := []string{"--server", srv.URL, "--admin-token", srv.AdminToken()}
	out, err := runCLI(t, append([]string{"app", "settings", "demo#duet"}, admin...)...)
	if err != nil || strings.TrimSpace(out) != "presence app" {
		t.Fatalf("app settings: %v\n%q", err, out)
	}
	out, err = runCLI(t, append([]string{"app", "settings", "demo#duet", "--presence", "contacts"}, admin...)...)
	if err != nil || strings.TrimSpace(out) != "presence contacts" {
		t.Fatalf("app settings --presence contacts: %v\n%q", err, out)
	}
	if _, err := runCLI(t, append([]string{"app", "settings", "demo#duet", "--presence", "friends"}, admin...)...); err == nil {
		t.Fatal("an unknown policy was accepted")
	}
	if _, err := runCLI(t, append([]string{"app", "settings", "nope#none"}, admin...)...); err == nil {
		t.Fatal("settings of a missing app succeeded")
	}
}
