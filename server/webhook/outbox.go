// Package webhook delivers call events to the HTTPS endpoints an app configures: each
// event (callflow.Event) becomes a signed JSON POST (Payload, SignatureHeader) to every
// endpoint of its app, from an outbox kept in the store, so deliveries survive restarts.
// The events enter the outbox in the same transaction as the call steps that caused them
// (Events gives their rows); the Outbox only delivers what is there.
//
// Delivery is at least once, in order per (endpoint, call): a call's next event is not
// attempted before the previous one was delivered or given up. Failed attempts are retried
// with capped exponential backoff; after MaxAttempts a delivery becomes a dead letter, which
// the admin API lists and can retry. Receivers drop repeats by Payload.ID.
package webhook

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/duet-rtc/duet/internal/clock"
	"github.com/duet-rtc/duet/server/callflow"
	"github.com/duet-rtc/duet/server/store"
)

// Defaults of Config fields left zero.
const (
	DefaultMinBackoff  = time.Second
	DefaultMaxBackoff  = 10 * time.Minute
	DefaultMaxAttempts = 12
	DefaultWorkers     = 4
	DefaultTimeout     = 10 * time.Second
	DefaultRetention   = 24 * time.Hour
)

// Config tunes an Outbox.
type Config struct {
	Store  store.WebhookStore
	Clock  clock.Clock  // default clock.Real{}
	Logger *slog.Logger // default slog.Default()
	// HTTPClient posts the deliveries; default NewHTTPClient(nil, Timeout).
	HTTPClient *http.Client
	// Timeout bounds one attempt when HTTPClient is nil. Default 10s.
	Timeout time.Duration
	// MinBackoff is the wait after the first failed attempt; it doubles after each further
	// one up to MaxBackoff, ±20 %. Defaults 1s and 10 min.
	MinBackoff, MaxBackoff time.Duration
	// MaxAttempts is how many attempts a delivery gets before it is a dead letter. Default 12.
	MaxAttempts int
	// Workers is how many deliveries may be in flight at once. Default 4.
	Workers int
	// Retention is how long delivered rows stay in the outbox. Default 24h.
	Retention time.Duration
	// Outcome, if set, is told how each attempt ended: "delivered", "retry" (failed, tried
	// again later) or "dead" (failed for the last time). For metrics.
	Outcome func(outcome string)
}

func (c Config) withDefaults() Config {
	if c.Clock == nil {
		c.Clock = clock.Real{}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	if c.HTTPClient == nil {
		c.HTTPClient = NewHTTPClient(nil, c.Timeout)
	}
	if c.MinBackoff <= 0 {
		c.MinBackoff = DefaultMinBackoff
	}
	if c.MaxBackoff < c.MinBackoff {
		c.MaxBackoff = max(DefaultMaxBackoff, c.MinBackoff)
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = DefaultMaxAttempts
	}
	if c.Workers <= 0 {
		c.Workers = DefaultWorkers
	}
	if c.Retention <= 0 {
		c.Retention = DefaultRetention
	}
	return c
}

// Outbox delivers the deliveries in the store's outbox. Create it with New; stop it with
// Close.
type Outbox struct {
	cfg Config
	log *slog.Logger

	inflight map[int64]bool // owned by the loop goroutine

	timer   chan struct{} // the next delivery is due, or new ones were stored
	results chan int64    // a worker finished this delivery
	stop    chan struct{}
	done    chan struct{}

	ctx     context.Context // cancelled by Close: attempts in flight give up
	cancel  context.CancelFunc
	workers sync.WaitGroup
	pending clock.Timer // the armed timer, owned by the loop
	pruned  time.Time
}

// New starts an outbox over cfg.Store. Call Close to stop it.
func New(cfg Config) *Outbox {
	cfg = cfg.withDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	o := &Outbox{
		cfg: cfg, log: cfg.Logger, inflight: map[int64]bool{},
		timer: make(chan struct{}, 1), results: make(chan int64, cfg.Workers),
		stop: make(chan struct{}), done: make(chan struct{}), ctx: ctx, cancel: cancel,
	}
	go o.loop()
	return o
}

// Events returns the outbox rows of call events, to be stored with the call steps that
// caused them (store.CallBatch). An event that cannot be encoded is logged and left out.
func (o *Outbox) Events(evs []callflow.Event) []store.WebhookEvent { return Events(evs, o.log, nil) }

// Events is Outbox.Events without an outbox: a node of a cluster stores the events of its
// calls whether or not it is the node that delivers them. hook, if set, completes the
// records of ended calls.
func Events(evs []callflow.Event, log *slog.Logger, hook RecordHook) []store.WebhookEvent {
	out := make([]store.WebhookEvent, 0, len(evs))
	for _, ev := range evs {
		we, err := eventOf(ev, hook)
		if err != nil {
			log.Error("webhook: cannot encode an event", "call", ev.CallID, "err", err)
			continue
		}
		out = append(out, we)
	}
	return out
}

// Kick makes the outbox look for due deliveries now: after events were stored, or dead
// letters were made pending again.
func (o *Outbox) Kick() { poke(o.timer) }

// Close stops the loop and waits for the attempts in flight, which it cancels: a cancelled attempt does not count, and its delivery is retried after the next
// start.
func (o *Outbox) Close() {
	select {
	case <-o.stop:
		return
	default:
	}
	close(o.stop)
	<-o.done
	o.cancel()
	o.workers.Wait()
}

func poke(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// loop is the outbox's one goroutine: it starts due deliveries on workers and arms the
// timer for the next one.
func (o *Outbox) loop() {
	defer close(o.done)
	o.dispatch() // deliveries left over from the last run
	for {
		select {
		case <-o.stop:
			if o.pending != nil {
				o.pending.Stop()
			}
			return
		case <-o.timer:
		case id := <-o.results:
			delete(o.inflight, id)
		}
		o.dispatch()
	}
}

// dispatch starts the due deliveries that free workers can take and arms the timer for the
// next one that is not due yet. Deliveries due now but not started wait for a worker, whose
// result runs dispatch again.
func (o *Outbox) dispatch() {
	now := o.cfg.Clock.Now()
	o.prune(now)
	free := o.cfg.Workers - len(o.inflight)
	if free > 0 {
		due, err := o.cfg.Store.DueWebhookDeliveries(o.ctx, now, o.cfg.Workers+len(o.inflight))
		if err != nil {
			o.log.Error("webhook: reading the outbox failed", "err", err)
			o.arm(now, now.Add(o.cfg.MinBackoff))
			return
		}
		for _, d := range due {
			if free == 0 {
				break
			}
			if o.inflight[d.ID] {
				continue
			}
			o.inflight[d.ID] = true
			free--
			o.workers.Add(1)
			go o.deliver(d)
		}
	}
	next, ok, err := o.cfg.Store.NextWebhookDue(o.ctx)
	switch {
	case err != nil:
		o.log.Error("webhook: reading the outbox failed", "err", err)
		o.arm(now, now.Add(o.cfg.MinBackoff))
	case ok && next.After(now):
		o.arm(now, next)
	}
}

// arm (re)sets the timer to fire at at.
func (o *Outbox) arm(now, at time.Time) {
	if o.pending != nil {
		o.pending.Stop()
	}
	o.pending = o.cfg.Clock.AfterFunc(at.Sub(now), func() { poke(o.timer) })
}

// deliver makes one attempt and records its outcome. It runs on its own goroutine.
func (o *Outbox) deliver(d store.WebhookDelivery) {
	defer o.workers.Done()
	defer func() { o.results <- d.ID }()
	err := Post(o.ctx, o.cfg.HTTPClient, d.URL, d.Secret, d.EventType, d.EventID, d.Body, o.cfg.Clock.Now())
	if o.ctx.Err() != nil {
		return // shutting down: not the endpoint's fault, and not an attempt
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	now := o.cfg.Clock.Now()
	if err == nil {
		o.outcome("delivered")
		if err := o.cfg.Store.MarkWebhookDelivered(ctx, d.ID, now); err != nil {
			o.log.Error("webhook: recording a delivery failed", "event", d.EventID, "err", err)
		}
		return
	}
	attempts := d.Attempts + 1
	dead := attempts >= o.cfg.MaxAttempts
	msg := err.Error()
	if len(msg) > 200 {
		msg = msg[:200]
	}
	next := now.Add(o.backoff(attempts))
	if dead {
		o.outcome("dead")
		o.log.Warn("webhook: giving up on a delivery", "app", d.App, "endpoint", d.Endpoint, "event", d.EventID, "attempts", attempts, "err", msg)
	} else {
		o.outcome("retry")
		o.log.Debug("webhook: attempt failed", "app", d.App, "endpoint", d.Endpoint, "event", d.EventID, "attempts", attempts, "err", msg)
	}
	if err := o.cfg.Store.MarkWebhookFailed(ctx, d.ID, attempts, next, dead, msg, now); err != nil {
		o.log.Error("webhook: recording a failed attempt failed", "event", d.EventID, "err", err)
	}
}

func (o *Outbox) outcome(s string) {
	if o.cfg.Outcome != nil {
		o.cfg.Outcome(s)
	}
}

// backoff is the wait after the n-th failed attempt: MinBackoff doubling up to MaxBackoff,
// ±20 % so that many deliveries failing together do not retry together.
func (o *Outbox) backoff(n int) time.Duration {
	d := o.cfg.MinBackoff
	for i := 1; i < n && d < o.cfg.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, o.cfg.MaxBackoff)
	return d + time.Duration((rand.Float64()*0.4-0.2)*float64(d))
}

// prune deletes old delivered rows, at most once an hour.
func (o *Outbox) prune(now time.Time) {
	if now.Sub(o.pruned) < time.Hour {
		return
	}
	o.pruned = now
	n, err := o.cfg.Store.PruneWebhookDeliveries(o.ctx, now.Add(-o.cfg.Retention))
	if err != nil && !errors.Is(err, context.Canceled) {
		o.log.Error("webhook: pruning the outbox failed", "err", err)
	} else if n > 0 {
		o.log.Debug("webhook: pruned delivered rows", "rows", n)
	}
}

func millis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}
