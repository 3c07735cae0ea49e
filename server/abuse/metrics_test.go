package abuse_test

import (
	"net/http"
	"testing"

	"github.com/duet-rtc/duet/server"
	"github.com/duet-rtc/duet/server/servertest"
)

func TestMetricsToken(t *testing.T) {
	s := servertest.Start(t, func(c *server.Config) { c.MetricsToken = "scrape-me-please" })
	for _, c := range []struct {
		token string
		want  int
	}{{"", http.StatusUnauthorized}, {"wrong", http.StatusUnauthorized}, {"scrape-me-please", http.StatusOK}} {
		if status, _ := s.Do(http.MethodGet, "/metrics", c.token, nil); status != c.want {
			t.Errorf("/metrics with token %q: HTTP %d, want %d", c.token, status, c.want)
		}
	}
}
