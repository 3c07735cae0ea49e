package turn

import (
	"net/netip"
	"testing"
)

func TestPeerPolicyDefault(t *testing.T) {
	var p PeerPolicy
	for _, s := range []string{
		"127.0.0.1", "127.9.9.9", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254",
		"100.64.0.1", "0.0.0.0", "0.1.2.3", "224.0.0.1", "255.255.255.255", "198.18.0.1",
		"::1", "::", "fe80::1", "fd00::1", "ff02::1", "::ffff:10.0.0.1", "::ffff:127.0.0.1",
		"64:ff9b::a00:1",
	} {
		if p.Allows(netip.MustParseAddr(s)) {
			t.Errorf("default policy allows %s", s)
		}
	}
	for _, s := range []string{"8.8.8.8", "1.1.1.1", "2001:4860:4860::8888", "::ffff:8.8.8.8"} {
		if !p.Allows(netip.MustParseAddr(s)) {
			t.Errorf("default policy refuses %s", s)
		}
	}
}

func TestPeerPolicyAllowDeny(t *testing.T) {
	p := PeerPolicy{
		Allow: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")},
		Deny:  []netip.Prefix{netip.MustParsePrefix("8.8.0.0/16")},
	}
	if !p.Allows(netip.MustParseAddr("10.2.3.4")) || p.Allows(netip.MustParseAddr("192.168.1.1")) {
		t.Error("allow list not applied")
	}
	if p.Allows(netip.MustParseAddr("8.8.8.8")) || !p.Allows(netip.MustParseAddr("1.1.1.1")) {
		t.Error("deny list not applied")
	}
}

func TestParse(t *testing.T) {
	if lo, hi, err := ParsePortRange("49152-65535"); err != nil || lo != 49152 || hi != 65535 {
		t.Fatalf("range: %d %d %v", lo, hi, err)
	}
	for _, bad := range []string{"1", "0-5", "9-8", "a-b", "1-70000"} {
		if _, _, err := ParsePortRange(bad); err == nil {
			t.Errorf("ParsePortRange(%q) accepted", bad)
		}
	}
	ps, err := ParsePrefixes("10.0.0.0/8, 192.168.1.7 ,fd00::/8")
	if err != nil || len(ps) != 3 || ps[1].String() != "192.168.1.7/32" {
		t.Fatalf("prefixes %v %v", ps, err)
	}
	if _, err := ParsePrefixes("10.0.0.0/33"); err == nil {
		t.Error("bad prefix accepted")
	}
}
