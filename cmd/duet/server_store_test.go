package main

import (
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"
)

// TestServerBadStore runs `duet server` with stores that cannot be opened: it fails with
// exit status 6 and says why, without the password.
func TestServerBadStore(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedPort := ln.Addr().(*net.TCPAddr).AddrPort().Port()
	ln.Close() // nobody listens there now
	for _, tc := range []struct{ store, want string }{
		{"postgres://duet:s3cretpw@127.0.0.1:" + strconv.Itoa(int(closedPort)) + "/duet?sslmode=disable", "cannot reach 127.0.0.1:"},
		{"mysql://duet:s3cretpw@127.0.0.1/duet", "not sqlite:PATH"},
	} {
		cmd := rootCommand()
		cmd.SetArgs([]string{"server", "--store", tc.store, "--data", t.TempDir(), "--addr", freeAddr(t), "--turn-addr", "", "--log-level", "error"})
		err := cmd.Execute()
		var ee *exitError
		if !errors.As(err, &ee) || exitCode(err) != exitStore {
			t.Fatalf("--store %s: %v (exit %d); want exit status %d", tc.store, err, exitCode(err), exitStore)
		}
		if msg := err.Error(); !strings.Contains(msg, "cannot open the store") || !strings.Contains(msg, tc.want) || strings.Contains(msg, "s3cretpw") {
			t.Errorf("--store %s: message %q; want it to say %q, without the password", tc.store, msg, tc.want)
		}
	}
}
