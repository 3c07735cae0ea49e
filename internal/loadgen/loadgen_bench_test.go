package loadgen

import (
	"context"
	"testing"
	"time"

	"github.com/duet-rtc/duet/server"
	"github.com/duet-rtc/duet/server/servertest"
)

// BenchmarkSignallingCycles runs call cycles without media (raw protocol clients, no peer
// connections: rawpair.go) against a server in this process, for a CPU profile of
// both sides in one place; `duet bench calls` against a server process is the measurement
// to quote. Each iteration is a 2-second run of 50 pairs, unpaced.
//
//	go test -run '^$' -bench SignallingCycles -benchtime 1x -cpuprofile cpu.out ./internal/loadgen
func BenchmarkSignallingCycles(b *testing.B) {
	srv := servertest.Start(b, func(c *server.Config) { c.DeviceRateLimit, c.SignupBurst = -1, -1 })
	for i := 0; i < b.N; i++ {
		res, err := Run(context.Background(), Config{
			Servers: []string{srv.URL}, AppKey: srv.AppKey, Users: "sig", Password: "pw",
			Pairs: 50, Duration: 2 * time.Second, Loopback: true,
		})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(res.Rate, "cycles/s")
		b.ReportMetric(res.Latency.InviteRing.P50, "invite-ring-p50-ms")
		b.ReportMetric(float64(res.Failed()), "failures")
	}
}
