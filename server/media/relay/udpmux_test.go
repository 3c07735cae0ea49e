package relay

import (
	"bytes"
	"log/slog"
	"net"
	"strings"
	"testing"
)

func TestSupportedIPv6(t *testing.T) {
	for _, tc := range []struct {
		ip   string
		want bool
	}{
		{"2001:db8::1", true},
		{"fe80::1", true},    // link-local: gathered with its zone
		{"fec0::1", false},   // site-local (RFC 3879)
		{"::1.2.3.4", false}, // IPv4-compatible (RFC 4291)
	} {
		if got := supportedIPv6(net.ParseIP(tc.ip)); got != tc.want {
			t.Errorf("supportedIPv6(%s) = %v, want %v", tc.ip, got, tc.want)
		}
	}
}

// TestLocalIPsLoopbackOnly: a loopback-only relay listens on IPv4 loopback addresses only.
func TestLocalIPsLoopbackOnly(t *testing.T) {
	ips, err := localIPs(Config{LoopbackOnly: true}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if len(ips) == 0 {
		t.Fatal("no loopback address")
	}
	for _, ip := range ips {
		if !ip.IP.IsLoopback() || ip.IP.To4() == nil {
			t.Errorf("listens on %v", ip)
		}
	}
}

// TestLocalIPsDefaultHasLoopback: a default relay also listens on 127.0.0.1, so that clients
// on the server's machine reach it; behind 1:1 NAT it does not, unless the host has no
// other address, which is logged as a warning.
func TestLocalIPsDefaultHasLoopback(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	ips, err := localIPs(Config{}, log)
	if err != nil {
		t.Fatal(err)
	}
	var loopback, other int
	for _, ip := range ips {
		if ip.IP.IsLoopback() {
			loopback++
		} else {
			other++
		}
	}
	if loopback == 0 {
		t.Fatalf("a default relay does not listen on loopback: %v", ips)
	}
	warned := strings.Contains(logs.String(), "no network address but loopback")
	if warned != (other == 0) {
		t.Errorf("with %d other addresses, warned %v: %s", other, warned, logs.String())
	}
	nat, err := localIPs(Config{PublicIPs: []string{"192.0.2.1"}}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	for _, ip := range nat {
		if ip.IP.IsLoopback() && other > 0 {
			t.Errorf("behind 1:1 NAT the relay listens on %v", ip)
		}
	}
}
