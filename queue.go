package duet

import "sync"

// Queue runs delegate callbacks: the seed's delegateQueue. The SDK never calls a delegate on
// its own internal goroutines, so a callback may call back into the SDK freely: any public
// method, Client.Close and Client.Logout included.
type Queue interface {
	// Dispatch schedules f; calls dispatched to one queue run in order.
	Dispatch(f func())
}

// SerialQueue runs functions one at a time, in the order they were dispatched, on a single
// goroutine that exists only while work is pending. The zero value is ready to use.
//
// It is unbounded on purpose: Dispatch is called from the SDK's connection reader, which
// must never wait for an app's callback (a callback that calls the SDK would then wait for
// the reader, and the reader for it). What it holds is bounded by the events the server
// sends one device, which the server's per-device send queue bounds in turn.
type SerialQueue struct {
	mu      sync.Mutex
	idle    sync.Cond // signalled when running turns false
	pending []func()
	running bool
	// inCall counts the functions running now (0 or 1): Client.Close called from inside
	// a callback must not wait for the queue to empty, since it is part of what runs.
	inCall int
}

// NewSerialQueue returns an empty queue.
func NewSerialQueue() *SerialQueue { return &SerialQueue{} }

// Dispatch appends f to the queue. It never blocks.
func (q *SerialQueue) Dispatch(f func()) {
	q.mu.Lock()
	q.pending = append(q.pending, f)
	start := !q.running
	q.running = true
	q.mu.Unlock()
	if start {
		go q.drain()
	}
}

func (q *SerialQueue) drain() {
	for {
		q.mu.Lock()
		if len(q.pending) == 0 {
			q.running = false
			q.cond().Broadcast()
			q.mu.Unlock()
			return
		}
		f := q.pending[0]
		q.pending[0] = nil
		q.pending = q.pending[1:]
		q.inCall++
		q.mu.Unlock()
		f()
		q.mu.Lock()
		q.inCall--
		q.mu.Unlock()
	}
}

// cond returns the idle condition; q.mu is held.
func (q *SerialQueue) cond() *sync.Cond {
	if q.idle.L == nil {
		q.idle.L = &q.mu
	}
	return &q.idle
}

// Idle reports whether nothing is queued or running. Tests use it to wait for callbacks.
func (q *SerialQueue) Idle() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return !q.running
}

// waitIdle waits until nothing is queued or running, unless a callback is running now: then
// the caller may be that callback (Close from CallDidEnd), which cannot wait for itself, so
// it returns at once and the rest of the queue drains after the callback returns.
func (q *SerialQueue) waitIdle() {
	q.mu.Lock()
	defer q.mu.Unlock()
	for q.running && q.inCall == 0 {
		q.cond().Wait()
	}
}
