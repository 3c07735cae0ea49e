package turn

import (
	"net"
	"sync/atomic"

	pionturn "github.com/pion/turn/v5"
	"github.com/prometheus/client_golang/prometheus"
)

// metrics is the server's Prometheus collector. Traffic is counted per relay socket (no
// shared cache line on the packet path) and summed when scraped.
type metrics struct {
	s            *Server
	authFailures atomic.Uint64

	allocations, packets, bytes, authFailed *prometheus.Desc
}

func newMetrics(s *Server) *metrics {
	return &metrics{
		s: s,
		allocations: prometheus.NewDesc("duet_turn_allocations",
			"Live TURN allocations.", nil, nil),
		packets: prometheus.NewDesc("duet_turn_relayed_packets_total",
			"Packets relayed, by direction (to_client: from a peer to the client; to_peer).", []string{"direction"}, nil),
		bytes: prometheus.NewDesc("duet_turn_relayed_bytes_total",
			"Payload bytes relayed, by direction.", []string{"direction"}, nil),
		authFailed: prometheus.NewDesc("duet_turn_auth_failures_total",
			"TURN requests refused for a bad, expired or forged credential.", nil, nil),
	}
}

// events are the pion hooks the server needs: auth failures for the metrics, channels for
// the fast path.
func (m *metrics) events() pionturn.EventHandler {
	r := m.s.relays
	return pionturn.EventHandler{
		OnAuth: func(_, _ net.Addr, _, _, _ string, _ string, verdict bool) {
			if !verdict {
				m.authFailures.Add(1)
			}
		},
		OnChannelCreated: func(client, listener net.Addr, _, _, _ string, relayAddr, peer net.Addr, number uint16) {
			r.channel(client, listener, relayAddr, peer, true, number)
		},
		OnChannelDeleted: func(client, listener net.Addr, _, _, _ string, relayAddr, peer net.Addr, number uint16) {
			r.channel(client, listener, relayAddr, peer, false, number)
		},
	}
}

// Describe implements prometheus.Collector.
func (m *metrics) Describe(ch chan<- *prometheus.Desc) {
	ch <- m.allocations
	ch <- m.packets
	ch <- m.bytes
	ch <- m.authFailed
}

// Collect implements prometheus.Collector.
func (m *metrics) Collect(ch chan<- prometheus.Metric) {
	c := m.s.relays.total()
	ch <- prometheus.MustNewConstMetric(m.allocations, prometheus.GaugeValue, float64(m.s.Allocations()))
	ch <- prometheus.MustNewConstMetric(m.packets, prometheus.CounterValue, float64(c.toClientPackets), "to_client")
	ch <- prometheus.MustNewConstMetric(m.packets, prometheus.CounterValue, float64(c.toPeerPackets), "to_peer")
	ch <- prometheus.MustNewConstMetric(m.bytes, prometheus.CounterValue, float64(c.toClientBytes), "to_client")
	ch <- prometheus.MustNewConstMetric(m.bytes, prometheus.CounterValue, float64(c.toPeerBytes), "to_peer")
	ch <- prometheus.MustNewConstMetric(m.authFailed, prometheus.CounterValue, float64(m.authFailures.Load()))
}
