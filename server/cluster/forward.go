package cluster

import (
	"encoding/json"
	"errors"
	"hash/fnv"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/duet-rtc/duet/server/route"
)

// Request is a device's lifecycle change or message, forwarded from the node it is
// connected to to the owner of its app's partition.
type Request struct {
	Op     string          `json:"op"` // OpOnline, OpOffline or OpMessage
	Node   string          `json:"node"`
	Boot   string          `json:"boot"`
	Seq    uint64          `json:"seq"` // the sender's presence position when it forwarded
	Device route.Online    `json:"device"`
	Resume []string        `json:"resume,omitempty"`
	Frame  json.RawMessage `json:"frame,omitempty"`
}

// Request operations.
const (
	OpOnline  = "online"
	OpOffline = "offline"
	OpMessage = "message"
	// OpOperatorEnd ends a call for the operator (Frame: the server's own encoding).
	OpOperatorEnd = "operator-end"
)

// hdrMoved marks the answer of a node that no longer owns the partition.
const hdrMoved = "Duet-Moved"

// Owns reports whether this node owns partition p now.
func (n *Node) Owns(p int) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	_, ok := n.parts[p]
	return ok
}

// Forward has the owner of partition p handle req and returns its reply frame (nil for
// none). When this node owns p the Host handles it here. While p has no owner (a failover)
// it retries until ForwardTimeout; a request that reached an owner is never sent twice.
func (n *Node) Forward(p int, req *Request) ([]byte, error) {
	req.Node = n.cfg.NodeID
	req.Boot, req.Seq = n.position()
	deadline := time.Now().Add(n.cfg.ForwardTimeout)
	var data []byte
	for {
		if n.Owns(p) {
			if reply, ok := n.host.HandleForwarded(p, req); ok {
				return reply, nil
			}
		} else {
			if data == nil {
				data, _ = json.Marshal(req)
			}
			m, err := n.nc.Request(subjPartition(p), data, time.Until(deadline))
			switch {
			case err == nil && m.Header.Get(hdrMoved) == "":
				if len(m.Data) == 0 {
					return nil, nil
				}
				return m.Data, nil
			case err == nil, errors.Is(err, nats.ErrNoResponders):
				// moved, or no owner yet: try again below
			default:
				return nil, err
			}
		}
		if time.Now().Add(100 * time.Millisecond).After(deadline) {
			return nil, errNoOwner
		}
		time.Sleep(100 * time.Millisecond) // a failover takes a heartbeat or two
	}
}

// work is one forwarded request waiting for a worker.
type work struct {
	p   int
	m   *nats.Msg
	req *Request
}

// startWorkers starts the goroutines that handle forwarded requests. A device's requests
// always go to the same worker, so they are handled in the order its node sent them, while
// different devices' requests run side by side.
func (n *Node) startWorkers(k int) {
	n.workers = make([]chan work, k)
	for i := range n.workers {
		ch := make(chan work, 256)
		n.workers[i] = ch
		n.wg.Add(1)
		go func() {
			defer n.wg.Done()
			for {
				select {
				case w := <-ch:
					n.handle(w)
				case <-n.quit:
					return
				}
			}
		}()
	}
}

func (n *Node) stopWorkers() {
	close(n.quit)
	n.wg.Wait()
}

// onPartition queues a forwarded request for its device's worker.
func (n *Node) onPartition(p int) nats.MsgHandler {
	return func(m *nats.Msg) {
		var req Request
		if err := json.Unmarshal(m.Data, &req); err != nil {
			return
		}
		h := fnv.New32a()
		_, _ = h.Write([]byte(req.Device.App + "\x00" + req.Device.User + "\x00" + req.Device.ID))
		select {
		case n.workers[h.Sum32()%uint32(len(n.workers))] <- work{p: p, m: m, req: &req}:
		case <-n.quit:
		}
	}
}

// handle waits until the replica has the sender's presence up to the request (so that a
// device is online here before its requests are decided), then lets the Host decide.
func (n *Node) handle(w work) {
	if !n.replica.WaitApplied(w.req.Node, w.req.Boot, w.req.Seq, 2*time.Second) {
		n.log.Debug("cluster: handling a request before its node's presence caught up", "from", w.req.Node)
	}
	reply, ok := n.host.HandleForwarded(w.p, w.req)
	out := nats.NewMsg(w.m.Reply)
	if !ok {
		out.Header.Set(hdrMoved, "1")
	}
	out.Data = reply
	_ = w.m.RespondMsg(out)
}
