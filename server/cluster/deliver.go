package cluster

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/duet-rtc/duet/server/route"
)

// Headers naming the device a frame or a text message is for.
const (
	hdrApp    = "Duet-App"
	hdrUser   = "Duet-User"
	hdrDevice = "Duet-Device"
)

// SendTo hands an encoded message to node for one of its devices. It does not wait: like
// the hub's Send, delivery is best effort, and messages published by one node reach another
// in the order they were sent.
func (n *Node) SendTo(node string, dev route.Device, frame []byte) bool {
	return n.publishFor(subjDevice(node), dev, frame)
}

// SendChat hands a stored text message (encoded by the chat service) to node for one of its
// devices.
func (n *Node) SendChat(node string, dev route.Device, data []byte) bool {
	return n.publishFor(subjChat(node), dev, data)
}

func (n *Node) publishFor(subj string, dev route.Device, data []byte) bool {
	m := nats.NewMsg(subj)
	m.Header.Set(hdrApp, dev.App)
	m.Header.Set(hdrUser, dev.User)
	m.Header.Set(hdrDevice, dev.ID)
	m.Data = data
	return n.nc.PublishMsg(m) == nil
}

func deviceOf(m *nats.Msg) route.Device {
	return route.Device{App: m.Header.Get(hdrApp), User: m.Header.Get(hdrUser), ID: m.Header.Get(hdrDevice)}
}

func (n *Node) onDevice(m *nats.Msg) { n.host.DeliverFrame(deviceOf(m), m.Data) }
func (n *Node) onChat(m *nats.Msg)   { n.host.DeliverChat(deviceOf(m), m.Data) }

// Notify tells every node (this one included) of something they may act on, such as new
// webhook deliveries (for the node that delivers them) or a user whose devices must be
// closed wherever they are. topic is a subject token (no dots); data is the topic's own.
func (n *Node) Notify(topic string, data []byte) { _ = n.nc.Publish(subjNotify(topic), data) }

// topicRebalance is the node's own notice that it gave a partition up to spread them: the
// others balance at once rather than at their next heartbeat.
const topicRebalance = "cluster-rebalance"

func (n *Node) onNotify(m *nats.Msg) {
	if topic := strings.TrimPrefix(m.Subject, "duet.notify."); topic != topicRebalance {
		n.host.Notified(topic, m.Data)
		return
	}
	var hb heartbeat
	if json.Unmarshal(m.Data, &hb) == nil && hb.Node != "" {
		n.replica.applyHeartbeat(hb, n.clk.Now()) // the partition given up is no longer claimed
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return // Close waits for the goroutines added before it
	}
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		n.balance()
	}()
}

// Ask asks every node (this one included) a question on topic and returns the first answer:
// a node answers only if it knows (Host.Answer). It waits up to timeout when none does.
func (n *Node) Ask(topic string, question []byte, timeout time.Duration) ([]byte, error) {
	m, err := n.nc.Request(subjAsk(topic), question, timeout)
	if err != nil {
		return nil, err
	}
	return m.Data, nil
}

func (n *Node) onAsk(m *nats.Msg) {
	topic := strings.TrimPrefix(m.Subject, "duet.ask.")
	if answer, ok := n.host.Answer(topic, m.Data); ok {
		_ = m.Respond(answer)
	}
}
