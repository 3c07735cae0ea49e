// Package cluster joins duet nodes through NATS: it is the machinery under `duet server
// --cluster`, and knows nothing of calls or chat beyond the devices, partitions and raw
// messages it carries.
//
// What it gives a node:
//   - presence of the devices connected to the other nodes (Replica), kept from a stream of
//     numbered online/offline events per node, snapshots when a node is new or a gap shows,
//     and heartbeats that declare a silent node gone;
//   - delivery of a message to a device connected to another node (Node.SendTo);
//   - partitions of the apps (Partition) with exactly one owner each, elected with
//     PostgreSQL advisory locks (Leases), and forwarding of a device's requests to the owner
//     of its app's partition (Node.Forward, Node.Serve).
//
// Nothing durable lives in NATS: call state, messages and webhook deliveries are in the
// store (PostgreSQL), so a node or NATS server that goes away loses no state, only the
// messages in flight, which the protocol's reconnect and resume rules already cover.
// docs/ARCHITECTURE.md ("Cluster") says who owns what and what happens on each failure.
package cluster
