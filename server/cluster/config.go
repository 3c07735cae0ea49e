package cluster

import (
	"fmt"
	"log/slog"
	"regexp"
	"time"

	"github.com/duet-rtc/duet/internal/clock"
)

// Config configures a Node. Zero fields take the defaults documented on each.
type Config struct {
	// NodeID names the node in the cluster: unique, stable across restarts, letters,
	// digits, '-' and '_' (it is part of NATS subjects).
	NodeID string
	// NATS lists the URLs of the cluster's NATS servers; the node connects to one and moves
	// to another when it goes away.
	NATS []string
	// Partitions is how many partitions the apps are spread over; default
	// DefaultPartitions. Every node must use the same.
	Partitions int
	// Heartbeat is how often the node says it is alive and balances its partitions; default
	// 500 ms.
	Heartbeat time.Duration
	// NodeTimeout is how long a node may be silent before the others take it for gone and
	// drop its devices; default 3 s.
	NodeTimeout time.Duration
	// ForwardTimeout bounds a request forwarded to a partition's owner, and how long a
	// request waits for a partition without an owner (during a failover); default 10 s.
	ForwardTimeout time.Duration
	// Clock drives heartbeats and expiry; default the wall clock.
	Clock clock.Clock
	// Logger receives the node's log; default slog.Default().
	Logger *slog.Logger
}

var nodeIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

func (c Config) withDefaults() (Config, error) {
	if !nodeIDPattern.MatchString(c.NodeID) {
		return c, fmt.Errorf("cluster: node id %q: use 1 to 64 letters, digits, '-' or '_'", c.NodeID)
	}
	if len(c.NATS) == 0 {
		return c, fmt.Errorf("cluster: no NATS server URL")
	}
	if c.Partitions <= 0 {
		c.Partitions = DefaultPartitions
	}
	if c.Heartbeat <= 0 {
		c.Heartbeat = 500 * time.Millisecond
	}
	if c.NodeTimeout <= 0 {
		c.NodeTimeout = 3 * time.Second
	}
	if c.ForwardTimeout <= 0 {
		c.ForwardTimeout = 10 * time.Second
	}
	if c.Clock == nil {
		c.Clock = clock.Real{}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c, nil
}

// NATS subjects. Everything a node sends to one node goes to that node's subjects; presence
// goes to every node; a partition's requests go to its owner.
const (
	subjPresence  = "duet.presence.ev" // presenceEvent, to every node
	subjBeat      = "duet.presence.hb" // heartbeat, to every node (same subscription: in order)
	subjPresAll   = "duet.presence.*"
	subjNotifyAll = "duet.notify.*" // notices to every node, by topic
	subjAskAll    = "duet.ask.*"    // questions to every node; those that know answer
)

func subjAsk(topic string) string    { return "duet.ask." + topic }
func subjNotify(topic string) string { return "duet.notify." + topic }

func subjSnapshot(node string) string { return "duet.node." + node + ".snapshot" }
func subjDevice(node string) string   { return "duet.node." + node + ".device" }
func subjChat(node string) string     { return "duet.node." + node + ".chat" }
func subjPartition(p int) string      { return fmt.Sprintf("duet.partition.%d", p) }
