package main

import (
	"net/netip"
	"strings"

	"github.com/spf13/pflag"

	"github.com/duet-rtc/duet/server"
	"github.com/duet-rtc/duet/server/turn"
)

// addWebFlags adds the flags of the browser side to `duet server`.
func addWebFlags(f *pflag.FlagSet, cfg *server.Config) {
	f.Var(&prefixList{&cfg.WebPushAllow}, "webpush-allow", "comma-separated networks Web Push endpoints may be in besides public addresses, e.g. 10.0.0.0/8 for a push service on your network (DUET_WEBPUSH_ALLOW)")
	if v := envOr("DUET_WEBPUSH_ALLOW", ""); v != "" {
		_ = f.Set("webpush-allow", v)
	}
	f.StringSliceVar(&cfg.AllowedOrigins, "allowed-origins", splitList(envOr("DUET_ALLOWED_ORIGINS", "")),
		"origins whose pages may use the browser SDK and the client REST API, e.g. https://app.example; the server's own and --public-url's always may; * for any (DUET_ALLOWED_ORIGINS)")
}

// prefixList is a flag of comma-separated networks (turn.ParsePrefixes).
type prefixList struct{ p *[]netip.Prefix }

func (l *prefixList) String() string {
	if l.p == nil {
		return ""
	}
	out := make([]string, len(*l.p))
	for i, p := range *l.p {
		out[i] = p.String()
	}
	return strings.Join(out, ",")
}

func (l *prefixList) Set(s string) error {
	p, err := turn.ParsePrefixes(s)
	if err != nil {
		return err
	}
	*l.p = p
	return nil
}

func (l *prefixList) Type() string { return "networks" }
