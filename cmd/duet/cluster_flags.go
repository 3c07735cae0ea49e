package main

import (
	"fmt"
	"net"
	"os"
	"regexp"
	"strings"

	"github.com/spf13/pflag"

	"github.com/duet-rtc/duet/server"
)

// clusterFlags are the flags that make `duet server` a node of a cluster.
type clusterFlags struct {
	nats   string
	nodeID string
}

func addClusterFlags(f *pflag.FlagSet, c *clusterFlags) {
	f.StringVar(&c.nats, "cluster", envOr("DUET_CLUSTER", ""), "run as a node of a cluster: comma-separated NATS URLs, e.g. nats://h1:4222,nats://h2:4222; needs a postgres:// --store (DUET_CLUSTER)")
	f.StringVar(&c.nodeID, "node-id", envOr("DUET_NODE_ID", ""), "this node's id in the cluster: unique and stable across restarts; letters, digits, '-' and '_' (DUET_NODE_ID; default HOSTNAME-PORT)")
}

var notNodeIDChars = regexp.MustCompile(`[^A-Za-z0-9_-]+`)

// apply sets cfg.Cluster from the flags and the store spec.
func (c clusterFlags) apply(cfg *server.Config, storeSpec string) error {
	if c.nats == "" {
		if c.nodeID != "" {
			return fmt.Errorf("--node-id needs --cluster")
		}
		return nil
	}
	if !strings.HasPrefix(storeSpec, "postgres://") && !strings.HasPrefix(storeSpec, "postgresql://") {
		return fmt.Errorf("--cluster needs the PostgreSQL store: --store postgres://USER:PASSWORD@HOST:PORT/DATABASE")
	}
	for _, u := range strings.Split(c.nats, ",") {
		if u = strings.TrimSpace(u); u != "" {
			cfg.Cluster.NATS = append(cfg.Cluster.NATS, u)
		}
	}
	cfg.Cluster.DatabaseURL = storeSpec
	cfg.Cluster.NodeID = c.nodeID
	if cfg.Cluster.NodeID == "" {
		cfg.Cluster.NodeID = defaultNodeID(cfg.Addr)
	}
	return nil
}

// defaultNodeID names a node after its host and port: stable across restarts, and unique
// as long as two nodes on one host listen on different ports.
func defaultNodeID(addr string) string {
	host, _ := os.Hostname()
	_, port, _ := net.SplitHostPort(addr)
	id := notNodeIDChars.ReplaceAllString(host+"-"+port, "-")
	if len(id) > 64 {
		id = id[len(id)-64:]
	}
	return strings.Trim(id, "-")
}
