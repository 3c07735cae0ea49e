package relay

import (
	"net"
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
	ips, err := localIPs(Config{LoopbackOnly: true})
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
