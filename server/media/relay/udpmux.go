package relay

import (
	"context"
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
// learns the addresses. ips are localIPs'.
func newUDPMux(cfg Config, ips []net.IPAddr, port uint16, rt *router, log *slog.Logger) (*ice.MultiUDPMuxDefault, error) {
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
	if addr.Port != 0 {
		// SO_REUSEPORT would let this bind succeed where another process of the same user
		// (a second duet server) holds the port, and the kernel would then split the calls'
		// datagrams between both: a plain bind first tells a taken port.
		probe, err := net.ListenUDP("udp", addr)
		if err != nil {
			return nil, err
		}
		probe.Close()
	}
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
// as pion ice chooses them (IPv6 unless LoopbackOnly, no IPv4-compatible or site-local
// IPv6), plus IPv4 loopback: only loopback when LoopbackOnly; beside the others otherwise,
// so that clients on the server's own machine (a first run, `duet call --loopback`) reach a
// default server, whose --addr is 127.0.0.1. Behind 1:1 NAT (PublicIPs) loopback is left
// out, as every local address is announced as the public one; on a host with no other
// address it is all there is, which is logged.
func localIPs(cfg Config, log *slog.Logger) ([]net.IPAddr, error) {
	ifaces, err := net.Interfaces()
	if err != nil {
		return nil, fmt.Errorf("interfaces: %w", err)
	}
	filter := ipFilter(cfg)
	var ips, loopback []net.IPAddr
	for _, iface := range ifaces {
		if iface.Flags&net.FlagUp == 0 {
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
			case filter != nil && !filter(ip):
				continue
			case ip.IsLoopback():
				if ip.To4() != nil {
					loopback = append(loopback, net.IPAddr{IP: ip})
				}
				continue
			case cfg.LoopbackOnly || iface.Flags&net.FlagLoopback != 0:
				continue
			case ip.To4() == nil && !supportedIPv6(ip):
				continue
			}
			zone := ""
			if ip.To4() == nil && ip.IsLinkLocalUnicast() {
				zone = iface.Name
			}
			ips = append(ips, net.IPAddr{IP: ip, Zone: zone})
		}
	}
	switch {
	case cfg.LoopbackOnly:
		return loopback, nil
	case len(ips) == 0 && len(loopback) > 0:
		log.Warn("this host has no network address but loopback: the media relay serves clients on this machine only (127.0.0.1); --media-loopback chooses this explicitly and silences this warning")
		return loopback, nil
	case len(cfg.PublicIPs) > 0:
		return ips, nil
	}
	return append(ips, loopback...), nil
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
