package api

import (
	"net/url"
	"strings"
)

// redactedPart stands in for what redactURL hides.
const redactedPart = "redacted"

// redactURL returns u fit to show: credentials in its userinfo and the values of its query
// (where services put tokens: ?token=, ?key=, ?sig=) are replaced, its fragment dropped.
// The admin API shows webhook and push URLs through it; the stored URL is unchanged. A URL
// that does not parse is hidden whole.
func redactURL(u string) string {
	if u == "" {
		return ""
	}
	p, err := url.Parse(u)
	if err != nil {
		return "(" + redactedPart + ")"
	}
	if p.User != nil {
		p.User = url.User(redactedPart)
	}
	if p.RawQuery != "" {
		q := p.Query()
		for k, vs := range q {
			for i := range vs {
				vs[i] = redactedPart
			}
			q[k] = vs
		}
		p.RawQuery = q.Encode()
	}
	p.Fragment, p.RawFragment = "", ""
	return p.String()
}

// redactConfigURLs redacts the URLs of a redacted push credentials view (push.Redact hides
// the secrets, not credentials a URL may carry).
func redactConfigURLs(config map[string]any) {
	for k, v := range config {
		if s, ok := v.(string); ok && (k == "url" || k == "host" || k == "endpoint" || strings.HasSuffix(k, "Uri")) {
			config[k] = redactURL(s)
		}
	}
}
