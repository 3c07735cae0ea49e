package turn

import (
	"net"
	"net/netip"
)

// PeerPolicy decides which peer addresses a relay may exchange packets with.
//
// A TURN relay sends wherever its client asks, from inside the server's network. Without a
// policy a client could reach services that only trust that network: a cloud metadata
// endpoint, a database on a private address, the server's own loopback. So by default a
// relay talks only to public unicast addresses, and to the relay addresses of this server
// itself (two parties both behind TURN). Everything in the special-purpose ranges below is
// refused unless Allow names it:
//
//	loopback 127.0.0.0/8 ::1, private 10/8 172.16/12 192.168/16 fc00::/7, link-local
//	169.254/16 fe80::/10, shared (CGNAT) 100.64/10, unspecified 0.0.0.0/8 ::, multicast,
//	192.0.0.0/24, benchmarking 198.18/15, reserved 240/4 (and broadcast), fec0::/10,
//	NAT64 64:ff9b::/96
//
// A deployment whose clients sit on a private network (an office LAN, a VPN) lists that
// network in Allow; tests on one machine allow 127.0.0.0/8.
type PeerPolicy struct {
	// Allow lists networks that are always allowed, special-purpose or not.
	Allow []netip.Prefix
	// Deny lists further networks to refuse (checked after Allow).
	Deny []netip.Prefix
}

// specialPrefixes are refused by default besides what netip's predicates catch.
var specialPrefixes = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("fec0::/10"),
	netip.MustParsePrefix("64:ff9b::/96"),
}

// Allows reports whether a relay may talk to ip.
func (p PeerPolicy) Allows(ip netip.Addr) bool {
	ip = ip.Unmap()
	if !ip.IsValid() {
		return false
	}
	for _, n := range p.Allow {
		if n.Contains(ip) {
			return true
		}
	}
	for _, n := range p.Deny {
		if n.Contains(ip) {
			return false
		}
	}
	if ip.IsLoopback() || ip.IsPrivate() || ip.IsUnspecified() || ip.IsMulticast() ||
		ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() || ip.IsInterfaceLocalMulticast() {
		return false
	}
	for _, n := range specialPrefixes {
		if n.Contains(ip) {
			return false
		}
	}
	return true
}

// explicitly reports whether Allow names ip.
func (p PeerPolicy) explicitly(ip netip.Addr) bool {
	for _, n := range p.Allow {
		if n.Contains(ip) {
			return true
		}
	}
	return false
}

// netipOf converts a net.IP, mapping IPv4-in-IPv6 to IPv4.
func netipOf(ip net.IP) netip.Addr {
	a, _ := netip.AddrFromSlice(ip)
	return a.Unmap()
}
