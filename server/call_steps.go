package server

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/duet-rtc/duet/internal/clock"
	"github.com/duet-rtc/duet/protocol"
	"github.com/duet-rtc/duet/server/callflow"
	"github.com/duet-rtc/duet/server/callflow/wire"
	"github.com/duet-rtc/duet/server/route"
	"github.com/duet-rtc/duet/server/store"
)

// stepCommitter is the call flow's Output. It makes every step durable before any device
// hears of it: the live calls that changed, the records of calls that ended and their
// webhook events go to the store in one transaction for all the steps decided meanwhile
// (group commit), and only then are the steps' messages delivered, each device's in
// decision order. A step that stores nothing (a relayed candidate, a refused request) is
// delivered at once, unless messages decided before it for the same device still wait:
// nothing overtakes on one device, and a store that is slow or down holds up only the
// devices whose calls changed, not every device's signalling.
type stepCommitter struct {
	st   store.LiveCallStore
	send func(route.Device, *protocol.Envelope) bool
	// events turns call events into outbox rows; committed is told every durable batch
	// (the outbox looks for deliveries, the push service sends cancel pushes).
	events    func([]callflow.Event) []store.WebhookEvent
	committed func([]callflow.Event)
	// ended stamps what the media side knows (serverVideoId) on an ended call's record.
	ended func(*store.CallRecord)
	// fence, when set, is put on every batch: a node of a cluster stores a partition's steps
	// only while it holds the partition (store.CallBatch.Fence).
	fence *store.Fence
	clk   clock.Clock
	log   *slog.Logger

	mu      sync.Mutex
	cond    *sync.Cond // broadcast when durable moves
	open    *callflow.Step
	openID  uint64 // the batch being collected
	durable uint64 // every batch up to this one is in the store
	needed  uint64 // the newest batch that holds something to store
	waiting []waitingSend
	// held is, for each device with waiting messages, the batch its last one waits for.
	held   map[route.Device]uint64
	closed bool
	once   sync.Once

	healthy atomic.Bool // false while commits fail
	wake    chan struct{}
	stop    chan struct{}
	done    chan struct{}
}

// waitingSend is a message held until batch is durable.
type waitingSend struct {
	batch uint64
	send  callflow.Send
}

func newStepCommitter(st store.LiveCallStore, c *stepCommitter) *stepCommitter {
	c.st = st
	c.open = &callflow.Step{}
	c.openID = 1
	c.held = make(map[route.Device]uint64)
	c.cond = sync.NewCond(&c.mu)
	c.wake = make(chan struct{}, 1)
	c.stop = make(chan struct{})
	c.done = make(chan struct{})
	c.healthy.Store(true)
	go c.loop()
	return c
}

// Apply takes one step of the call flow (under the engine's lock: it never blocks).
func (c *stepCommitter) Apply(step *callflow.Step) {
	c.mu.Lock()
	defer c.mu.Unlock()
	durable := step.Durable()
	if durable {
		c.open.Saves = append(c.open.Saves, step.Saves...)
		c.open.Ends = append(c.open.Ends, step.Ends...)
		c.open.Events = append(c.open.Events, step.Events...)
		c.needed = c.openID
		select {
		case c.wake <- struct{}{}:
		default:
		}
	}
	for _, s := range step.Sends {
		batch, held := c.held[s.To]
		if durable {
			batch = c.openID
		} else if !held {
			c.deliver(s)
			continue
		}
		c.held[s.To] = batch
		c.waiting = append(c.waiting, waitingSend{batch: batch, send: s})
	}
}

// deliver encodes one message and hands it to the hub.
func (c *stepCommitter) deliver(s callflow.Send) { c.send(s.To, wire.Encode(s.Msg)) }

// loop commits batches until Close, and the last one after it.
func (c *stepCommitter) loop() {
	defer close(c.done)
	for {
		select {
		case <-c.wake:
		case <-c.stop:
			c.commitOpen()
			return
		}
		c.commitOpen()
	}
}

// commitOpen closes the open batch, stores it, then releases the messages that waited for
// it. A failing store is retried until it works again (or the server stops): the steps are
// already decided and their messages wait, so nothing is told that is not stored.
func (c *stepCommitter) commitOpen() {
	c.mu.Lock()
	if c.needed < c.openID {
		c.mu.Unlock()
		return
	}
	b, id := c.open, c.openID
	c.open, c.openID = &callflow.Step{}, c.openID+1
	c.mu.Unlock()

	batch := c.batchOf(b)
	for attempt := 0; ; attempt++ {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := c.st.CommitCalls(ctx, batch, c.clk.Now())
		cancel()
		if err == nil {
			break
		}
		if errors.Is(err, store.ErrFenced) {
			// Another node owns these calls now: what this batch decided never happened.
			c.log.Error("call steps dropped: this node no longer owns their calls", "calls", len(batch.Save), "ended", len(batch.End))
			c.drop(id)
			return
		}
		c.healthy.Store(false)
		c.log.Error("storing call steps failed; retrying", "calls", len(batch.Save), "ended", len(batch.End),
			"attempt", attempt, "err", err)
		select {
		case <-c.stop:
			if attempt >= 4 {
				c.log.Error("server stopping: call steps not stored", "calls", len(batch.Save), "ended", len(batch.End))
				return
			}
		case <-time.After(min(time.Duration(attempt+1)*100*time.Millisecond, 2*time.Second)):
		}
	}
	c.healthy.Store(true)
	c.release(id)
	if c.committed != nil && len(b.Events) > 0 {
		c.committed(b.Events)
	}
}

// release marks batch id durable and delivers the messages that waited for it, in order.
func (c *stepCommitter) release(id uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.durable = id
	// Batches are released in order and each device's messages wait for nondecreasing
	// batches, so what is released keeps every device's order.
	kept := c.waiting[:0]
	for _, w := range c.waiting {
		if w.batch <= id {
			c.deliver(w.send)
		} else {
			kept = append(kept, w)
		}
	}
	clear(c.waiting[len(kept):])
	c.waiting = kept
	for dev, batch := range c.held {
		if batch <= id {
			delete(c.held, dev)
		}
	}
	c.cond.Broadcast()
}

// drop forgets the messages that waited for batch id (and earlier ones) without delivering
// them: their batch was not stored and never will be.
func (c *stepCommitter) drop(id uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.durable = id
	kept := c.waiting[:0]
	for _, w := range c.waiting {
		if w.batch > id {
			kept = append(kept, w)
		}
	}
	clear(c.waiting[len(kept):])
	c.waiting = kept
	for dev, batch := range c.held {
		if batch <= id {
			delete(c.held, dev)
		}
	}
	c.cond.Broadcast()
}

// batchOf converts a step's durable part to the store's terms.
func (c *stepCommitter) batchOf(b *callflow.Step) store.CallBatch {
	type key struct{ app, id string }
	var out store.CallBatch
	ended := make(map[key]bool, len(b.Ends))
	for i := range b.Ends {
		ended[key{b.Ends[i].App, b.Ends[i].ID}] = true
	}
	// A call saved several times in one batch is written once, as it is last; one that
	// ended in the batch is not written live at all.
	last := make(map[key]int, len(b.Saves))
	for i := range b.Saves {
		last[key{b.Saves[i].App, b.Saves[i].ID}] = i
	}
	now := c.clk.Now()
	for i := range b.Saves {
		k := key{b.Saves[i].App, b.Saves[i].ID}
		if last[k] == i && !ended[k] {
			out.Save = append(out.Save, liveCallOf(&b.Saves[i], now))
		}
	}
	for i := range b.Ends {
		rec := recordOf(&b.Ends[i])
		if c.ended != nil {
			c.ended(&rec)
		}
		out.End = append(out.End, rec)
	}
	if c.events != nil {
		out.Events = c.events(b.Events)
	}
	out.Fence = c.fence
	return out
}

// Healthy reports whether the last commit worked: while it does not, new calls are refused.
func (c *stepCommitter) Healthy() bool { return c.healthy.Load() }

// Flush waits until every step applied before the call is durable and delivered.
func (c *stepCommitter) Flush() {
	c.mu.Lock()
	defer c.mu.Unlock()
	target := c.needed
	select {
	case c.wake <- struct{}{}:
	default:
	}
	for c.durable < target && !c.closed {
		c.cond.Wait()
	}
}

// Close commits what is open, delivers what it releases and stops the loop.
func (c *stepCommitter) Close() {
	c.once.Do(func() {
		close(c.stop)
		<-c.done
		c.mu.Lock()
		c.closed = true
		c.cond.Broadcast()
		c.mu.Unlock()
	})
}

// newStepCommitter builds the call flow's Output over the server's store, hub, webhook
// outbox, push service and recordings.
func (s *Server) newStepCommitter() *stepCommitter {
	return s.newStepCommitterFor(s.hub, s.committed, nil)
}

// newStepCommitterFor is newStepCommitter delivering through to (in a cluster, to devices
// on any node) and telling committed of every durable batch's events.
func (s *Server) newStepCommitterFor(to route.Sender, committed func([]callflow.Event), fence *store.Fence) *stepCommitter {
	return newStepCommitter(s.store, &stepCommitter{
		fence:     fence,
		send:      to.Send,
		events:    s.msg.hookEvents,
		committed: committed,
		ended:     s.stampRecording,
		clk:       s.cfg.Clock,
		log:       s.cfg.Logger,
	})
}

// committed is told the events of every stored batch of call steps: they are logged and
// counted, their webhook deliveries are announced and their pushes sent.
func (s *Server) committed(evs []callflow.Event) {
	s.observer.observe(evs)
	s.msg.committed(evs)
}

// healthyStore reports whether call steps are being stored.
func (s *Server) healthyStore() bool { return s.steps == nil || s.steps.Healthy() }
