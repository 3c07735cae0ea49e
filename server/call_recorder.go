package server

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/duet-rtc/duet/server/store"
)

// callRecorder persists call records off the call flow's hot path: Record appends to a
// queue, and one goroutine writes everything queued in one transaction (group commit), so
// the store's per-transaction cost is shared by every call that ended meanwhile.
type callRecorder struct {
	st  store.Store
	log *slog.Logger

	mu      sync.Mutex
	queue   []store.CallRecord
	written uint64 // records durable so far
	queued  uint64 // records ever queued
	cond    *sync.Cond
	wake    chan struct{}
	done    chan struct{}
	stop    chan struct{}
}

func newCallRecorder(st store.Store, log *slog.Logger) *callRecorder {
	r := &callRecorder{st: st, log: log, wake: make(chan struct{}, 1), done: make(chan struct{}), stop: make(chan struct{})}
	r.cond = sync.NewCond(&r.mu)
	go r.loop()
	return r
}

// Record queues rec for writing. It never blocks on the store.
func (r *callRecorder) Record(rec store.CallRecord) {
	r.mu.Lock()
	r.queue = append(r.queue, rec)
	r.queued++
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

func (r *callRecorder) loop() {
	defer close(r.done)
	for {
		select {
		case <-r.wake:
		case <-r.stop:
			r.writeQueued()
			return
		}
		r.writeQueued()
	}
}

func (r *callRecorder) writeQueued() {
	for {
		r.mu.Lock()
		batch := r.queue
		r.queue = nil
		r.mu.Unlock()
		if len(batch) == 0 {
			return
		}
		for attempt := 0; ; attempt++ {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			err := r.st.SaveCalls(ctx, batch)
			cancel()
			if err == nil {
				break
			}
			r.log.Error("saving call records failed", "records", len(batch), "attempt", attempt, "err", err)
			if attempt == 4 {
				break // keep serving calls; the log says what was lost
			}
			time.Sleep(time.Duration(attempt+1) * 100 * time.Millisecond)
		}
		r.mu.Lock()
		r.written += uint64(len(batch))
		r.cond.Broadcast()
		r.mu.Unlock()
	}
}

// Flush waits until every record queued before the call is written.
func (r *callRecorder) Flush() {
	r.mu.Lock()
	target := r.queued
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
	r.mu.Lock()
	for r.written < target {
		r.cond.Wait()
	}
	r.mu.Unlock()
}

// Close writes what is queued and stops the writer.
func (r *callRecorder) Close() {
	close(r.stop)
	<-r.done
}
