package callflow

import (
	"io"
	"log/slog"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/duet-rtc/duet/protocol"
	"github.com/duet-rtc/duet/server/route"
)

// benchNet has one online device "d" for every user and discards what it is given, except
// that it keeps each caller's latest call id (callers are named "a<n>").
type benchNet struct {
	ids []atomic.Pointer[string]
}

func (n *benchNet) Apply(st *Step) {
	for _, s := range st.Sends {
		if inv, ok := s.Msg.Body.(*protocol.CallInvited); ok && s.To.User[0] == 'a' {
			i, _ := strconv.Atoi(s.To.User[1:])
			n.ids[i].Store(&inv.CallID)
		}
	}
}

func (n *benchNet) Connected(route.Device) bool { return true }

func (n *benchNet) OnlineDevices(app, user string) []route.Online {
	return []route.Online{{Device: route.Device{App: app, User: user, ID: "d"}, Capabilities: protocol.Capabilities{Audio: true, Video: true}}}
}

// benchCycle runs one invite → answer → end between users a<n> and b<n>.
func benchCycle(b *testing.B, e *Engine, net *benchNet, n int, a, callee route.Device) {
	e.Invite(a, "1", protocol.CallInvite{To: callee.User, Type: protocol.CallVoice})
	id := *net.ids[n].Load()
	e.Answer(callee, "2", id)
	e.End(a, "3", protocol.CallEnd{CallID: id})
}

func newBenchEngine(pairs int) (*Engine, *benchNet) {
	net := &benchNet{ids: make([]atomic.Pointer[string], pairs)}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	return New(Config{Logger: log}, net, net, nil), net
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
