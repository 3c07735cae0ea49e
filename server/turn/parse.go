package turn

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// ParsePortRange parses "MIN-MAX" (inclusive); "" is no range (ports the system assigns).
func ParsePortRange(s string) (lo, hi uint16, err error) {
	if strings.TrimSpace(s) == "" {
		return 0, 0, nil
	}
	a, b, ok := strings.Cut(s, "-")
	x, err1 := strconv.ParseUint(strings.TrimSpace(a), 10, 16)
	y, err2 := strconv.ParseUint(strings.TrimSpace(b), 10, 16)
	if !ok || err1 != nil || err2 != nil || x == 0 || x > y {
		return 0, 0, fmt.Errorf("port range %q is not MIN-MAX with 0 < MIN <= MAX", s)
	}
	return uint16(x), uint16(y), nil
}

// ParsePrefixes parses a comma-separated list of networks ("10.0.0.0/8,fd00::/8"); a bare
// address stands for itself alone.
func ParsePrefixes(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if !strings.Contains(f, "/") {
			a, err := netip.ParseAddr(f)
			if err != nil {
				return nil, fmt.Errorf("network %q: %w", f, err)
			}
			out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			return nil, fmt.Errorf("network %q: %w", f, err)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// ParseIP parses an optional IP address: "" gives nil.
func ParseIP(s string) (net.IP, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	ip := net.ParseIP(strings.TrimSpace(s))
	if ip == nil {
		return nil, fmt.Errorf("%q is not an IP address", s)
	}
	return ip, nil
}
