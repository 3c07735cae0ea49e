package server

import (
	"net/http"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"time"

	"github.com/duet-rtc/duet/server/api"
	"github.com/duet-rtc/duet/server/recording"
	"github.com/duet-rtc/duet/server/store"
)

// In a cluster a recording's file is on the node that owned its call. Any node lists it
// (the rows are in the store); a download through a node without the file asks the cluster
// which node has it and proxies the request there, Range and all.

// topicRecordingFile asks which node has a recording's file; the question is the file's
// path in the recordings folder, the answer the node's URL.
const topicRecordingFile = "recording-file"

// forwardedHeader marks a download a node proxied, so that it is never proxied again.
const forwardedHeader = "X-Duet-Forwarded"

// clusterRecordings is the recording service of a node, whose downloads may be proxied.
type clusterRecordings struct {
	*recording.Service
	c *clusterCalls
}

var _ api.RemoteFiles = clusterRecordings{}

// Remote returns a proxy to the node that has rec's file, or nil.
func (r clusterRecordings) Remote(req *http.Request, rec store.Recording) http.Handler {
	if req.Header.Get(forwardedHeader) != "" || rec.File == "" {
		return nil
	}
	answer, err := r.c.node.Ask(topicRecordingFile, []byte(rec.File), time.Second)
	if err != nil {
		return nil
	}
	target, err := url.Parse(string(answer))
	if err != nil || target.Scheme == "" {
		return nil
	}
	node := r.c.node.ID()
	return &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		pr.SetURL(target)
		pr.Out.Header.Set(forwardedHeader, node)
	}}
}

// Answer says this node's URL when it has the recording file asked about.
func (c *clusterCalls) Answer(topic string, question []byte) ([]byte, bool) {
	// Only a path inside the recordings folder is looked at, whoever asks.
	if topic != topicRecordingFile || c.s.media == nil || !filepath.IsLocal(string(question)) {
		return nil, false
	}
	f, err := c.s.media.recordings.Open(store.Recording{File: string(question)})
	if err != nil {
		return nil, false
	}
	f.Close()
	return []byte(c.s.cfg.PublicURL), true
}
