package rtc

import "sync"

// dispatcher runs event callbacks one at a time, in order, on a goroutine of its own that
// exists only while events are pending. pion's goroutines thus never wait for the
// application, and a callback may call any Peer method, Close included.
type dispatcher struct {
	mu      sync.Mutex
	queue   []func()
	running bool
	closed  bool
}

// emit queues f unless the dispatcher is closed.
func (d *dispatcher) emit(f func()) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return
	}
	d.queue = append(d.queue, f)
	if !d.running {
		d.running = true
		go d.drain()
	}
}

func (d *dispatcher) drain() {
	for {
		d.mu.Lock()
		if d.closed || len(d.queue) == 0 {
			d.running = false
			d.queue = nil
			d.mu.Unlock()
			return
		}
		f := d.queue[0]
		d.queue = d.queue[1:]
		d.mu.Unlock()
		f()
	}
}

// close drops pending events; none starts after it returns (one may still be running).
func (d *dispatcher) close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.closed = true
	d.queue = nil
}
