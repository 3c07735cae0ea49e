package main

import (
	"fmt"
	"time"

	"github.com/spf13/pflag"

	"github.com/duet-rtc/duet/server"
	"github.com/duet-rtc/duet/server/limit"
)

// addLimitFlags adds the flags of what one client may do (README, "Running on the
// internet"); proxies receives --trusted-proxies, parsed by checkLimitFlags.
func addLimitFlags(f *pflag.FlagSet, cfg *server.Config, proxies *string) {
	f.IntVar(&cfg.MaxDevicesPerUser, "max-devices", envIntOr("DUET_MAX_DEVICES", server.DefaultMaxDevicesPerUser),
		"devices one user may have connected at once; one more is refused with code 913; negative: no limit (DUET_MAX_DEVICES)")
	f.IntVar(&cfg.MaxPendingConnsPerAddr, "max-pending-conns", envIntOr("DUET_MAX_PENDING_CONNS", server.DefaultMaxPendingConnsPerAddr),
		"connections one address (IPv6: one /64) may hold before they authenticate; more get 503; negative: no limit (DUET_MAX_PENDING_CONNS)")
	f.IntVar(&cfg.SignupBurst, "signup-burst", envIntOr("DUET_SIGNUP_BURST", 30),
		"users one address may register at once without the app token, then one every 10 s; negative: no bound (DUET_SIGNUP_BURST)")
	f.StringVar(proxies, "trusted-proxies", envOr("DUET_TRUSTED_PROXIES", "127.0.0.1,::1"),
		"comma-separated addresses or networks of reverse proxies whose X-Forwarded-For names the client, for the per-address limits; they are not bounded themselves. The default trusts a proxy on this machine; empty trusts none (DUET_TRUSTED_PROXIES)")
	f.StringVar(&cfg.SecretKey, "secret-key", envOr("DUET_SECRET_KEY", ""),
		"key (16+ characters) that encrypts stored webhook secrets and push credentials; nodes sharing a PostgreSQL store need the same (DUET_SECRET_KEY; default DATA/secret-key, created on first start)")
	f.BoolVar(&cfg.NoDemoApp, "no-demo-app", envOr("DUET_NO_DEMO_APP", "") != "",
		"do not create the demo app (demo#duet, open registration) on first start (DUET_NO_DEMO_APP)")
	f.StringVar(&cfg.MetricsToken, "metrics-token", envOr("DUET_METRICS_TOKEN", ""),
		"bearer token /metrics requires; empty leaves /metrics open (DUET_METRICS_TOKEN)")
	f.DurationVar(&cfg.IdleTimeout, "http-idle-timeout", envDurationOr("DUET_HTTP_IDLE_TIMEOUT", server.DefaultIdleTimeout),
		"a keep-alive HTTP connection quiet this long is closed (DUET_HTTP_IDLE_TIMEOUT)")
	f.DurationVar(&cfg.ReadTimeout, "http-read-timeout", envDurationOr("DUET_HTTP_READ_TIMEOUT", server.DefaultReadTimeout),
		"a request must arrive whole within this (DUET_HTTP_READ_TIMEOUT)")
	f.DurationVar(&cfg.WriteTimeout, "http-write-timeout", envDurationOr("DUET_HTTP_WRITE_TIMEOUT", server.DefaultWriteTimeout),
		"a response must be written within this; recording downloads get this per write (DUET_HTTP_WRITE_TIMEOUT)")
}

// checkLimitFlags parses --trusted-proxies and checks the timeouts.
func checkLimitFlags(cfg *server.Config, proxies string) error {
	var err error
	if cfg.TrustedProxies, err = limit.ParseProxies(proxies); err != nil {
		return fmt.Errorf("--trusted-proxies: %w", err)
	}
	for name, d := range map[string]time.Duration{"--http-idle-timeout": cfg.IdleTimeout,
		"--http-read-timeout": cfg.ReadTimeout, "--http-write-timeout": cfg.WriteTimeout} {
		if d <= 0 {
			return fmt.Errorf("%s must be positive, got %v", name, d)
		}
	}
	return nil
}
