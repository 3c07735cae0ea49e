package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/duet-rtc/duet/server"
	"github.com/duet-rtc/duet/server/store/storeurl"
	"github.com/duet-rtc/duet/server/turn"
)

func serverCommand() *cobra.Command {
	var cfg server.Config
	var logLevel string
	var shutdownTimeout time.Duration
	var turnPublicIP, turnRelayIP, turnSecret, turnPorts, turnAllow string
	var storeSpec, proxies string
	var cluster clusterFlags
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run the duet server (embedded SQLite in the data folder or PostgreSQL with --store, demo app on first start)",
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := envDurationErrors(); err != nil {
				return err
			}
			if err := turnFlags(&cfg.TURN, turnPublicIP, turnRelayIP, turnSecret, turnPorts, turnAllow); err != nil {
				return err
			}
			if err := checkMessagingFlags(&cfg); err != nil {
				return err
			}
			if err := checkLimitFlags(&cfg, proxies); err != nil {
				return err
			}
			timeout, err := drainFlags(&cfg, shutdownTimeout)
			if err != nil {
				return err
			}
			if err := cluster.apply(&cfg, storeSpec); err != nil {
				return err
			}
			cfg.Logger = newLogger(logLevel)
			privateUmask()
			st, err := storeurl.Open(cmd.Context(), storeSpec, cfg.DataDir)
			if err != nil {
				return &exitError{code: exitStore, err: fmt.Errorf("cannot open the store %s: %w", storeName(storeSpec, cfg.DataDir), err)}
			}
			// Opened here rather than by server.New so that a store that cannot be opened
			// has its own exit status; closed once the server has shut down.
			cfg.Store = st
			err = runServer(cmd.Context(), cfg, timeout)
			if errors.Is(err, errAbandoned) {
				// The stuck shutdown may hold the store: closing it could hang as well. The
				// process exits now and leaves the store's ending to the system.
				return nil
			}
			st.Close()
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Addr, "addr", envOr("DUET_ADDR", "127.0.0.1:8080"), "listen address (DUET_ADDR)")
	f.StringVar(&cfg.DataDir, "data", envOr("DUET_DATA", "./duet-data"), "data folder (DUET_DATA)")
	f.StringVar(&storeSpec, "store", envOr("DUET_STORE", ""), "where data lives: empty for SQLite at DATA/duet.db, sqlite:PATH, or postgres://USER:PASSWORD@HOST:PORT/DATABASE (DUET_STORE); exit status 6 when it cannot be opened")
	f.StringVar(&cfg.PublicURL, "public-url", envOr("DUET_PUBLIC_URL", ""), "URL clients reach this server at (DUET_PUBLIC_URL; default http://ADDR)")
	f.StringVar(&logLevel, "log-level", envOr("DUET_LOG_LEVEL", "info"), "debug, info, warn or error (DUET_LOG_LEVEL)")
	f.DurationVar(&cfg.RingTimeout, "ring-timeout", envDuration("DUET_RING_TIMEOUT", 45*time.Second), "unanswered calls end with NoResponse after this (DUET_RING_TIMEOUT)")
	f.DurationVar(&cfg.ReconnectGrace, "reconnect-grace", envDuration("DUET_RECONNECT_GRACE", 30*time.Second), "a call survives a lost connection this long (DUET_RECONNECT_GRACE)")
	f.DurationVar(&cfg.DrainRetryAfter, "drain-retry-after", envDuration("DUET_DRAIN_RETRY_AFTER", time.Second), "on SIGTERM devices are told to reconnect after this, about how long a restart takes; at most 60s, negative: with their own backoff (DUET_DRAIN_RETRY_AFTER)")
	f.DurationVar(&shutdownTimeout, "shutdown-timeout", envDuration("DUET_SHUTDOWN_TIMEOUT", 10*time.Second), "on SIGTERM or SIGINT the server drains and exits within this; devices still connected near its end are cut; a second signal exits at once (DUET_SHUTDOWN_TIMEOUT)")
	f.StringVar(&cfg.AdminToken, "admin-token", envOr("DUET_ADMIN_TOKEN", ""), "admin API token (DUET_ADMIN_TOKEN; default: DATA/admin-token, created on first start)")
	addMediaFlags(f, &cfg)
	addClusterFlags(f, &cluster)
	addWebFlags(f, &cfg)
	addMessagingFlags(f, &cfg)
	addLimitFlags(f, &cfg, &proxies)
	f.StringVar(&cfg.TURN.Addr, "turn-addr", envOr("DUET_TURN_ADDR", "127.0.0.1:3478"), "TURN listen address, UDP and TCP; empty turns TURN off (DUET_TURN_ADDR)")
	f.StringVar(&turnPublicIP, "turn-public-ip", envOr("DUET_TURN_PUBLIC_IP", ""), "IP clients reach TURN at, put in the turn: URLs and relay addresses (DUET_TURN_PUBLIC_IP; default the relay IP)")
	f.StringVar(&turnRelayIP, "turn-relay-ip", envOr("DUET_TURN_RELAY_IP", ""), "IP relay sockets bind to (DUET_TURN_RELAY_IP; default the host of --turn-addr)")
	f.StringVar(&turnSecret, "turn-secret", envOr("DUET_TURN_SECRET", ""), "HMAC secret of TURN credentials, 16+ characters (DUET_TURN_SECRET; default DATA/turn-secret, created on first start)")
	f.StringVar(&turnPorts, "turn-relay-ports", envOr("DUET_TURN_RELAY_PORTS", "49152-65535"), "relay port range MIN-MAX; empty: any port (DUET_TURN_RELAY_PORTS)")
	f.StringVar(&turnAllow, "turn-allow-peers", envOr("DUET_TURN_ALLOW_PEERS", ""), "comma-separated networks relays may reach besides public addresses, e.g. 10.0.0.0/8 (DUET_TURN_ALLOW_PEERS)")
	f.IntVar(&cfg.TURN.MaxAllocationsPerUser, "turn-user-quota", envIntOr("DUET_TURN_USER_QUOTA", 10), "live TURN allocations per user (DUET_TURN_USER_QUOTA)")
	return cmd
}

// exitStore is the exit status of `duet server` when its store cannot be opened (an
// unreachable database, bad credentials, a schema newer than the build), so that a
// supervisor can tell it from other failures.
const exitStore = 6

// storeName describes the store of --store for messages, without its password.
func storeName(spec, dataDir string) string {
	if spec == "" {
		return filepath.Join(dataDir, "duet.db")
	}
	return storeurl.Redact(spec)
}

// turnFlags parses the TURN flags that are not plain strings into cfg.
func turnFlags(cfg *turn.Config, publicIP, relayIP, secret, ports, allow string) error {
	var err error
	if cfg.PublicIP, err = turn.ParseIP(publicIP); err != nil {
		return fmt.Errorf("--turn-public-ip: %w", err)
	}
	if cfg.RelayIP, err = turn.ParseIP(relayIP); err != nil {
		return fmt.Errorf("--turn-relay-ip: %w", err)
	}
	if cfg.RelayPortMin, cfg.RelayPortMax, err = turn.ParsePortRange(ports); err != nil {
		return fmt.Errorf("--turn-relay-ports: %w", err)
	}
	if cfg.Peers.Allow, err = turn.ParsePrefixes(allow); err != nil {
		return fmt.Errorf("--turn-allow-peers: %w", err)
	}
	if secret != "" {
		if len(secret) < 16 {
			return errors.New("--turn-secret: at least 16 characters")
		}
		cfg.Secret = []byte(secret)
	}
	return nil
}

// envIntOr returns the environment variable name as an int, or def when it is unset or not
// a number.
func envIntOr(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return n
	}
	return def
}

func newLogger(level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(strings.ToUpper(level))); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: l}))
}

// drainFlags parses --drain-retry-after into cfg and returns --shutdown-timeout.
func drainFlags(cfg *server.Config, timeout time.Duration) (time.Duration, error) {
	if cfg.DrainRetryAfter > time.Minute {
		return 0, errors.New("--drain-retry-after: at most 60s")
	}
	if timeout <= 0 {
		return 0, errors.New("--shutdown-timeout: must be positive")
	}
	return timeout, nil
}

// runServer serves until SIGINT or SIGTERM, then drains (see drain) and returns nil, so that
// the process exits 0: a deploy's stop is not a failure. A drain that does not finish in
// time returns errAbandoned.
func runServer(parent context.Context, cfg server.Config, shutdownTimeout time.Duration) error {
	ctx, stop := signal.NotifyContext(parent, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	// The HTTP address first: a server already running there is the likeliest failure of a
	// first run, and nothing else should start (and log) before it is known.
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("%w (choose another address with --addr HOST:PORT, DUET_ADDR)", err)
	}
	srv, err := server.New(ctx, cfg)
	if err != nil {
		ln.Close()
		return withFlagHint(err)
	}
	printBanner(srv, cfg)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	select {
	case err := <-served:
		drain(srv, shutdownTimeout, log)
		return err
	case <-ctx.Done():
	}
	// From here a second SIGINT or SIGTERM has its default effect: the operator who presses
	// ^C twice gets the process ended at once.
	stop()
	log.Info("draining: devices are told to reconnect; a second signal exits at once", "timeout", shutdownTimeout)
	if !drain(srv, shutdownTimeout, log) {
		return errAbandoned // exit now; Serve may still be inside the stuck shutdown
	}
	return <-served
}

// withFlagHint adds to an address or port failure of server.New the flags that change it.
func withFlagHint(err error) error {
	msg := err.Error()
	switch {
	case strings.HasPrefix(msg, "relay: udp port") && strings.Contains(msg, "address already in use"):
		// The relay's one UDP port is taken (another duet server on this host?).
		return fmt.Errorf("%w (the media relay's UDP port: choose another with --relay-ports P-P, or --relay-ports any for any free port)", err)
	case strings.HasPrefix(msg, "relay:"):
		return fmt.Errorf("%w (--media-loopback keeps the media relay on 127.0.0.1; --relay-public-ip sets the addresses it announces)", err)
	case strings.HasPrefix(msg, "turn server:"):
		return fmt.Errorf("%w (the embedded TURN server: choose another address with --turn-addr HOST:PORT, or --turn-addr \"\" to turn it off)", err)
	}
	return err
}

// errAbandoned is runServer's report of a shutdown it gave up on at --shutdown-timeout. The
// command still exits 0 (the drain was asked for), without waiting for anything else.
var errAbandoned = errors.New("shutdown abandoned at --shutdown-timeout")

// printBanner tells the operator where the server is and what it made on first start.
func printBanner(srv *server.Server, cfg server.Config) {
	public := cfg.PublicURL
	if public == "" {
		public = "http://" + cfg.Addr
	}
	app, created := srv.DemoApp()
	fmt.Printf("duet server listening on %s\n", public)
	if app.Key != "" {
		state := "existing"
		if created {
			state = "created"
		}
		fmt.Printf("demo app (%s, open registration): appkey %s\n", state, app.Key)
	}
	fmt.Printf("admin token in %s/admin-token\n", cfg.DataDir)
	if t := srv.TURN(); t != nil {
		fmt.Printf("TURN on %s\n", strings.Join(t.URLs(), " "))
	}
}

// shutdowner is what drain stops: a *server.Server.
type shutdowner interface {
	Shutdown(ctx context.Context) error
}

// drain shuts srv down within timeout and reports whether it finished. Devices get most of
// the time to close after their goodbye (the server cuts the rest at the drain deadline),
// which leaves the remainder for writing queued state and closing the store. Whatever still
// runs at timeout is abandoned with a log line: an orchestrator that waits for the process
// must never wait longer than it was told.
func drain(srv shutdowner, timeout time.Duration, log *slog.Logger) bool {
	ctx, cancel := context.WithTimeout(context.Background(), drainDeadline(timeout))
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- srv.Shutdown(ctx) }()
	limit := time.NewTimer(timeout)
	defer limit.Stop()
	select {
	case err := <-done:
		if err != nil {
			log.Error("shutdown", "err", err)
		}
		return true
	case <-limit.C:
		log.Error("shutdown did not finish within --shutdown-timeout; exiting anyway", "timeout", timeout)
		return false
	}
}

// drainDeadline is how long devices have to close after goodbye: 4/5 of the shutdown
// timeout, leaving at most 2 s for the rest of the shutdown.
func drainDeadline(timeout time.Duration) time.Duration {
	return timeout - min(timeout/5, 2*time.Second)
}
