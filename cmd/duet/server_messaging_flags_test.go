package main

import (
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/duet-rtc/duet/server"
)

// TestMessagingFlags: the defaults are the server's documented ones, values parse, and
// values the server cannot use are refused with the flag's name.
func TestMessagingFlags(t *testing.T) {
	parse := func(args ...string) (server.Config, error) {
		var cfg server.Config
		f := pflag.NewFlagSet("server", pflag.ContinueOnError)
		addMessagingFlags(f, &cfg)
		if err := f.Parse(args); err != nil {
			return cfg, err
		}
		return cfg, checkMessagingFlags(&cfg)
	}
	cfg, err := parse()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MessageRetention != 7*24*time.Hour || cfg.WebhookMinBackoff != time.Second ||
		cfg.WebhookMaxBackoff != 10*time.Minute || cfg.WebhookMaxAttempts != 12 {
		t.Fatalf("defaults: %+v", cfg)
	}
	cfg, err = parse("--message-retention", "48h", "--webhook-min-backoff", "2s", "--webhook-max-backoff", "1m", "--webhook-max-attempts", "3")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MessageRetention != 48*time.Hour || cfg.WebhookMinBackoff != 2*time.Second ||
		cfg.WebhookMaxBackoff != time.Minute || cfg.WebhookMaxAttempts != 3 {
		t.Fatalf("parsed: %+v", cfg)
	}
	for _, bad := range [][]string{
		{"--message-retention", "0s"},
		{"--webhook-min-backoff", "-1s"},
		{"--webhook-min-backoff", "5m", "--webhook-max-backoff", "1m"},
		{"--webhook-max-attempts", "0"},
	} {
		_, err := parse(bad...)
		if err == nil || !strings.Contains(err.Error(), "--") {
			t.Errorf("%v: %v, want an error naming the flag", bad, err)
		}
	}
	t.Setenv("DUET_MESSAGE_RETENTION", "1h")
	if cfg, err = parse(); err != nil || cfg.MessageRetention != time.Hour {
		t.Fatalf("from the environment: %v %v", cfg.MessageRetention, err)
	}
}
