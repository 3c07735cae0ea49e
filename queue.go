package duet

import "sync"

// Queue runs delegate callbacks: the seed's delegateQueue. The SDK never calls a delegate on
// its own internal goroutines, so a callback may call back into the SDK freely.
type Queue interface {
	// Dispatch schedules f; calls dispatched to one queue run in order.
	Dispatch(f func())
}

// SerialQueue runs functions one at a time, in the order they were dispatched, on a single
// goroutine that exists only while work is pending. The zero value is ready to use.
type SerialQueue struct {
	mu      sync.Mutex
	pending []func()
	running bool
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
			q.mu.Unlock()
			return
		}
		f := q.pending[0]
		q.pending[0] = nil
		q.pending = q.pending[1:]
		q.mu.Unlock()
		f()
	}
}

// Idle reports whether nothing is queued or running. Tests use it to wait for callbacks.
func (q *SerialQueue) Idle() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return !q.running
}
