package relay

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"

	"github.com/pion/ice/v4"
	"github.com/pion/transport/v5/reuseport"

	"github.com/duet-rtc/duet/internal/pionlog"
)

// muxSocketBuffer is the kernel buffer of each shared-port socket, both ways: a burst of a
// few hundred calls' packets must not overflow it while the reader is descheduled.
const muxSocketBuffer = 4 << 20

// newUDPMux listens on port at every local address cfg allows, as ice.NewMultiUDPMuxFromPort
// does, but with cfg.Readers sockets per address (SO_REUSEPORT; one where the system lacks
// it), each read in batches (internal/udpbatch) by a goroutine of its own (socket.go). rt
// learns the addresses.
func newUDPMux(cfg Config, port uint16, rt *router, log *slog.Logger) (*ice.MultiUDPMuxDefault, error) {
	ips, err := localIPs(cfg)
	if err != nil {
		return nil, err
	}
	if len(ips) == 0 {
		return nil, errors.New("no local address to listen on")
	}
	logger := pionlog.Factory{Log: log}.NewLogger("udpmux")
	var muxes []ice.UDPMux
	var conns []*mediaConn
	closeAll := func() {
		for _, m := range muxes {
			_ = m.Close()
		}
	}
	for _, ip := range ips {
		socks, err := listenShared(&net.UDPAddr{IP: ip.IP, Zone: ip.Zone, Port: int(port)}, cfg.Readers)
		if err != nil {
			closeAll()
			return nil, err
		}
		local, _ := netip.AddrFromSlice(ip.IP)
		c := newMediaConn(socks, rt, local.Unmap())
		conns = append(conns, c)
		muxes = append(muxes, ice.NewUDPMuxDefault(ice.UDPMuxParams{Logger: logger, UDPConn: c}))
	}
	rt.mu.Lock()
	rt.conns = conns
	rt.mu.Unlock()
	return ice.NewMultiUDPMuxDefault(muxes...), nil
}

// listenShared opens n UDP sockets on addr with SO_REUSEPORT, with large buffers. Port 0
// picks a port, which the others then share. Where the option is missing the second bind
// fails and one socket serves.
func listenShared(addr *net.UDPAddr, n int) ([]*net.UDPConn, error) {
	lc := net.ListenConfig{Control: reuseport.Control}
	var out []*net.UDPConn
	for i := range max(n, 1) {
		pc, err := lc.ListenPacket(context.Background(), "udp", addr.String())
		if err != nil {
			if i > 0 {
				break
			}
			return nil, err
		}
		conn := pc.(*net.UDPConn)
		_ = conn.SetReadBuffer(muxSocketBuffer)
		_ = conn.SetWriteBuffer(muxSocketBuffer)
		out = append(out, conn)
		addr = conn.LocalAddr().(*net.UDPAddr)
	}
	return out, nil
}

// localIPs are the addresses of the up interfaces that ICE may gather on under cfg, chosen
// as pion ice chooses them: loopback only when LoopbackOnly, IPv6 unless LoopbackOnly, and
// no IPv4-compatible or site-local IPv6.
func localIPs(cfg Config) ([]net.IPAddr, error) {
	ifaces, err := net.Interfaces()
	if err != nil {
		return nil, fmt.Errorf("interfaces: %w", err)
	}
	filter := ipFilter(cfg)
	var ips []net.IPAddr
	for _, iface := range ifaces {
		if iface.Flags&net.FlagUp == 0 || (iface.Flags&net.FlagLoopback != 0 && !cfg.LoopbackOnly) {
			continue
		}
		addrs, err := iface.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			ipnet, ok := a.(*net.IPNet)
			if !ok {
				continue
			}
			ip := ipnet.IP
			switch {
			case ip.IsLoopback() && !cfg.LoopbackOnly:
				continue
			case ip.To4() == nil && (cfg.LoopbackOnly || !supportedIPv6(ip)):
				continue
			case filter != nil && !filter(ip):
				continue
			}
			zone := ""
			if ip.To4() == nil && ip.IsLinkLocalUnicast() {
				zone = iface.Name
			}
			ips = append(ips, net.IPAddr{IP: ip, Zone: zone})
		}
	}
	return ips, nil
}

// supportedIPv6 rejects what RFC 8445 §5.1.1.1 rules out as a host candidate:
// IPv4-compatible (RFC 4291) and site-local (RFC 3879) IPv6 addresses.
func supportedIPv6(ip net.IP) bool {
	ip = ip.To16()
	if ip == nil || ip[0] == 0xfe && ip[1]&0xc0 == 0xc0 {
		return false
	}
	for _, b := range ip[:12] {
		if b != 0 {
			return true
		}
	}
	return false
}
