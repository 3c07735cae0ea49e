package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/duet-rtc/duet/server"
)

func serverCommand() *cobra.Command {
	var cfg server.Config
	var logLevel, ringTimeout, grace string
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run the duet server (embedded SQLite in the data folder, demo app on first start)",
		RunE: func(cmd *cobra.Command, _ []string) error {
			var err error
			if cfg.RingTimeout, err = time.ParseDuration(ringTimeout); err != nil {
				return fmt.Errorf("--ring-timeout: %w", err)
			}
			if cfg.ReconnectGrace, err = time.ParseDuration(grace); err != nil {
				return fmt.Errorf("--reconnect-grace: %w", err)
			}
			cfg.Logger = newLogger(logLevel)
			return runServer(cmd.Context(), cfg)
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Addr, "addr", envOr("DUET_ADDR", "127.0.0.1:8080"), "listen address (DUET_ADDR)")
	f.StringVar(&cfg.DataDir, "data", envOr("DUET_DATA", "./duet-data"), "data folder (DUET_DATA)")
	f.StringVar(&cfg.PublicURL, "public-url", envOr("DUET_PUBLIC_URL", ""), "URL clients reach this server at (DUET_PUBLIC_URL; default http://ADDR)")
	f.StringVar(&logLevel, "log-level", envOr("DUET_LOG_LEVEL", "info"), "debug, info, warn or error (DUET_LOG_LEVEL)")
	f.StringVar(&ringTimeout, "ring-timeout", envOr("DUET_RING_TIMEOUT", "45s"), "unanswered calls end with NoResponse after this (DUET_RING_TIMEOUT)")
	f.StringVar(&grace, "reconnect-grace", envOr("DUET_RECONNECT_GRACE", "30s"), "a call survives a lost connection this long (DUET_RECONNECT_GRACE)")
	f.StringVar(&cfg.AdminToken, "admin-token", envOr("DUET_ADMIN_TOKEN", ""), "admin API token (DUET_ADMIN_TOKEN; default: DATA/admin-token, created on first start)")
	return cmd
}

func newLogger(level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(strings.ToUpper(level))); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: l}))
}

// runServer serves until SIGINT or SIGTERM, then shuts down gracefully and returns nil.
func runServer(parent context.Context, cfg server.Config) error {
	ctx, stop := signal.NotifyContext(parent, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	srv, err := server.New(ctx, cfg)
	if err != nil {
		return err
	}
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
	served := make(chan error, 1)
	go func() { served <- srv.ListenAndServe() }()
	select {
	case err := <-served:
		shutdown(srv)
		return err
	case <-ctx.Done():
	}
	cfg.Logger.Info("shutting down")
	shutdown(srv)
	return <-served
}

func shutdown(srv *server.Server) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		slog.Error("shutdown", "err", err)
	}
}
