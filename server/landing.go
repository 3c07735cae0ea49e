package server

import (
	"html/template"
	"net/http"
)

var landingPage = template.Must(template.New("landing").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>duet</title><style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem}code{background:#eee;padding:0 .3em}</style></head>
<body><h1>duet is running</h1>
<p>Self-hosted 1-on-1 audio and video calls.</p>
{{if .AppKey}}<p>Demo app key: <code>{{.AppKey}}</code> (open registration).</p>{{end}}
<ul><li>Device connection: <code>{{.URL}}/ws</code></li>
<li>REST: <code>{{.URL}}/{org}/{app}/users</code>, <code>/token</code>, <code>/calls</code></li>
<li><a href="/healthz">/healthz</a> · <a href="/metrics">/metrics</a></li></ul>
<p>Try a call from two terminals: <code>duet call --answer --user bob</code> and <code>duet call --user alice --to bob</code>.</p>
</body></html>`))

func (s *Server) landing(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = landingPage.Execute(w, struct{ AppKey, URL string }{s.demoApp.Key, s.cfg.PublicURL})
}
