package duet

import (
	"fmt"
	"math/rand/v2"
	"net/url"
	"strings"

	"github.com/duet-rtc/duet/protocol"
)

// node is one server of a deployment: the base URL of its REST API and its device endpoint.
type node struct{ rest, ws string }

// parseNodes reads Options.ServerURL, one URL or a comma-separated list of the nodes of a
// cluster, and Options.WebSocketURL, empty (each node's /ws) or a list of the same length.
func parseNodes(serverURL, wsURL string) ([]node, error) {
	var nodes []node
	for _, s := range strings.Split(serverURL, ",") {
		s = strings.TrimRight(strings.TrimSpace(s), "/")
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, &Error{Code: ErrorGeneral, Message: fmt.Sprintf("server URL %q must be http(s)://host[:port]", s)}
		}
		ws := *u
		ws.Scheme = map[string]string{"http": "ws", "https": "wss"}[u.Scheme]
		ws.Path = strings.TrimRight(u.Path, "/") + "/ws"
		nodes = append(nodes, node{rest: s, ws: ws.String()})
	}
	if wsURL == "" {
		return nodes, nil
	}
	wss := strings.Split(wsURL, ",")
	if len(wss) != len(nodes) {
		return nil, &Error{Code: ErrorGeneral, Message: fmt.Sprintf("%d WebSocket URLs for %d server URLs", len(wss), len(nodes))}
	}
	for i := range nodes {
		nodes[i].ws = strings.TrimSpace(wss[i])
	}
	return nodes, nil
}

// joinNodes writes the nodes back as Options fields.
func joinNodes(nodes []node) (serverURL, wsURL string) {
	rest := make([]string, len(nodes))
	ws := make([]string, len(nodes))
	for i, n := range nodes {
		rest[i], ws[i] = n.rest, n.ws
	}
	return strings.Join(rest, ","), strings.Join(ws, ",")
}

// firstNode is where a client starts: a random node, so that the devices of a deployment
// given one list spread over its nodes.
func firstNode(nodes []node) int { return rand.IntN(len(nodes)) }

// currentNode returns the node the client talks to.
func (c *Client) currentNode() node {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.opts.nodes[c.node]
}

// nextNode moves the client to the next node of the list, after its node went away
// (connection lost, goodbye, 503, refused connect). With one node it stays.
func (c *Client) nextNode() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.opts.nodes) > 1 {
		c.node = (c.node + 1) % len(c.opts.nodes)
		c.log.Info("moving to another server node", "node", c.opts.nodes[c.node].rest)
	}
}

// nodeGone reports whether err says the node could not be reached or is going away, so
// that another node may serve the request.
func nodeGone(err error) bool {
	switch ErrorCodeOf(err) {
	case protocol.CodeServerNotReachable, protocol.CodeServerBusy, protocol.CodeServerShutdown, protocol.CodeNetworkUnavailable:
		return true
	}
	return false
}
