package main

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/pflag"

	"github.com/duet-rtc/duet/server"
)

// addMessagingFlags adds the flags of text messages and call webhooks to `duet server`.
func addMessagingFlags(f *pflag.FlagSet, cfg *server.Config) {
	f.DurationVar(&cfg.MessageRetention, "message-retention", envDurationOr("DUET_MESSAGE_RETENTION", 7*24*time.Hour),
		"text messages are deleted this long after they were sent, delivered or not (DUET_MESSAGE_RETENTION)")
	f.DurationVar(&cfg.WebhookMinBackoff, "webhook-min-backoff", envDurationOr("DUET_WEBHOOK_MIN_BACKOFF", time.Second),
		"first wait before a failed webhook delivery is tried again; it doubles per attempt (DUET_WEBHOOK_MIN_BACKOFF)")
	f.DurationVar(&cfg.WebhookMaxBackoff, "webhook-max-backoff", envDurationOr("DUET_WEBHOOK_MAX_BACKOFF", 10*time.Minute),
		"longest wait between webhook delivery attempts (DUET_WEBHOOK_MAX_BACKOFF)")
	f.IntVar(&cfg.WebhookMaxAttempts, "webhook-max-attempts", envIntOr("DUET_WEBHOOK_MAX_ATTEMPTS", 12),
		"attempts before a webhook event becomes a dead letter (DUET_WEBHOOK_MAX_ATTEMPTS)")
}

// checkMessagingFlags refuses values the server would otherwise have to guess about.
func checkMessagingFlags(cfg *server.Config) error {
	switch {
	case cfg.MessageRetention <= 0:
		return fmt.Errorf("--message-retention must be positive, got %v", cfg.MessageRetention)
	case cfg.WebhookMinBackoff <= 0 || cfg.WebhookMaxBackoff < cfg.WebhookMinBackoff:
		return fmt.Errorf("--webhook-min-backoff (%v) must be positive and at most --webhook-max-backoff (%v)",
			cfg.WebhookMinBackoff, cfg.WebhookMaxBackoff)
	case cfg.WebhookMaxAttempts < 1:
		return fmt.Errorf("--webhook-max-attempts must be at least 1, got %d", cfg.WebhookMaxAttempts)
	}
	return nil
}

// envDurationOr reads a duration from the environment, or def when unset or unreadable.
// envDurationErrs are the duration variables that did not parse, reported by the command
// that reads them (envDurationErrors) rather than silently replaced by their defaults.
var envDurationErrs []error

// envDuration returns the duration in the environment variable name, or def when it is
// unset; a value that does not parse is def, and an error for envDurationErrors.
func envDuration(name string, def time.Duration) time.Duration {
	v, ok := os.LookupEnv(name)
	if !ok || v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		envDurationErrs = append(envDurationErrs, fmt.Errorf("%s=%q: %w", name, v, err))
		return def
	}
	return d
}

// envDurationErrors is the duration variables that did not parse, as one error.
func envDurationErrors() error { return errors.Join(envDurationErrs...) }

// envDurationOr is envDuration.
func envDurationOr(name string, def time.Duration) time.Duration { return envDuration(name, def) }
