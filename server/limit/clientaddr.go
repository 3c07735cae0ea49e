package limit

import (
	"net/http"
	"net/netip"
	"strings"
)

// Proxies lists the reverse proxies whose X-Forwarded-For the server believes.
type Proxies []netip.Prefix

// Trusted reports whether addr is one of the proxies.
func (p Proxies) Trusted(addr netip.Addr) bool {
	for _, pr := range p {
		if pr.Contains(addr) {
			return true
		}
	}
	return false
}

// ClientAddr returns the address a request came from: its peer, or when the peer is a
// trusted proxy, the last address in X-Forwarded-For that is not one (the proxies append
// what they saw, so the entries before it are the client's to forge).
func (p Proxies) ClientAddr(r *http.Request) netip.Addr {
	addr := netip.Addr{}
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		addr = ap.Addr().Unmap()
	}
	if len(p) == 0 || !p.Trusted(addr) {
		return addr
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			return addr
		}
		addr = a.Unmap()
		if !p.Trusted(addr) {
			return addr
		}
	}
	return addr
}

// ParseProxies parses a comma-separated list of addresses and networks.
func ParseProxies(s string) (Proxies, error) {
	var out Proxies
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if !strings.Contains(f, "/") {
			a, err := netip.ParseAddr(f)
			if err != nil {
				return nil, err
			}
			out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
			continue
		}
		pr, err := netip.ParsePrefix(f)
		if err != nil {
			return nil, err
		}
		out = append(out, pr.Masked())
	}
	return out, nil
}
