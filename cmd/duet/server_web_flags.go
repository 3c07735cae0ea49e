package main

import (
	"github.com/spf13/pflag"

	"github.com/duet-rtc/duet/server"
)

// addWebFlags adds the flags of the browser side to `duet server`.
func addWebFlags(f *pflag.FlagSet, cfg *server.Config) {
	f.StringSliceVar(&cfg.AllowedOrigins, "allowed-origins", splitList(envOr("DUET_ALLOWED_ORIGINS", "")),
		"origins whose pages may use the browser SDK and the client REST API, e.g. https://app.example; the server's own and --public-url's always may; * for any (DUET_ALLOWED_ORIGINS)")
}
