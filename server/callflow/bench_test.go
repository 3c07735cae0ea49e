package callflow

import (
	"bytes"
	"io"
	"log/slog"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/duet-rtc/duet/protocol"
	"github.com/duet-rtc/duet/server/route"
	"github.com/duet-rtc/duet/server/store"
)

// benchNet has one online device "d" for every user and discards what it sends, except
// that it keeps each caller's latest invite reply (callers are named "a<n>") so the caller
// learns its call id.
type benchNet struct {
	replies []atomic.Pointer[protocol.Envelope]
}

func (n *benchNet) Send(to route.Device, env *protocol.Envelope) bool {
	if env.Type == protocol.TypeReply && to.User[0] == 'a' {
		i, _ := strconv.Atoi(to.User[1:])
		n.replies[i].Store(env)
	}
	return true
}

func (n *benchNet) OnlineDevices(app, user string) []route.Online {
	return []route.Online{{Device: route.Device{App: app, User: user, ID: "d"}, Capabilities: protocol.Capabilities{Audio: true, Video: true}}}
}

type discardRecorder struct{}

func (discardRecorder) Record(store.CallRecord) {}

// benchCallID extracts the id from a CallInvited body without a JSON decoder: the benchmark
// measures the server, not the client.
func benchCallID(data []byte) []byte {
	const key = `"callId":"`
	i := bytes.Index(data, []byte(key)) + len(key)
	return data[i : i+bytes.IndexByte(data[i:], '"')]
}

// benchCycle runs one invite → answer → end between users a<n> and b<n>.
func benchCycle(b *testing.B, e *Engine, net *benchNet, n int, a, callee route.Device) {
	invite := &protocol.Envelope{Type: protocol.TypeCallInvite, ID: "1", Data: []byte(`{"to":"` + callee.User + `","type":1}`)}
	if r := e.HandleMessage(a, invite); r != nil {
		b.Fatalf("invite: %+v", r.Error)
	}
	id := benchCallID(net.replies[n].Load().Data)
	ref := append(append([]byte(`{"callId":"`), id...), `"}`...)
	if r := e.HandleMessage(callee, &protocol.Envelope{Type: protocol.TypeCallAnswer, ID: "2", Data: ref}); r.Error != nil {
		b.Fatalf("answer: %+v", r.Error)
	}
	if r := e.HandleMessage(a, &protocol.Envelope{Type: protocol.TypeCallEnd, ID: "3", Data: ref}); r.Error != nil {
		b.Fatalf("end: %+v", r.Error)
	}
}

func newBenchEngine(pairs int) (*Engine, *benchNet) {
	net := &benchNet{replies: make([]atomic.Pointer[protocol.Envelope], pairs)}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	return New(Config{Logger: log}, net, net, nil, discardRecorder{}), net
}

func pair(n int) (route.Device, route.Device) {
	s := strconv.Itoa(n)
	return route.Device{App: app, User: "a" + s, ID: "d"}, route.Device{App: app, User: "b" + s, ID: "d"}
}

// BenchmarkCallCycle measures full signalling call cycles (invite → answer → end, two online
// devices, real clock timers) on one goroutine.
func BenchmarkCallCycle(b *testing.B) {
	e, net := newBenchEngine(1)
	defer e.Close()
	a, callee := pair(0)
	b.ReportAllocs()
	for b.Loop() {
		benchCycle(b, e, net, 0, a, callee)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "cycles/s")
	if e.Active() != 0 {
		b.Fatal("calls left")
	}
}

// BenchmarkCallCycleParallel runs cycles between distinct pairs on every P.
func BenchmarkCallCycleParallel(b *testing.B) {
	const maxPairs = 1024
	e, net := newBenchEngine(maxPairs)
	defer e.Close()
	var next atomic.Int32
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		n := int(next.Add(1)-1) % maxPairs
		a, callee := pair(n)
		for pb.Next() {
			benchCycle(b, e, net, n, a, callee)
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "cycles/s")
}
