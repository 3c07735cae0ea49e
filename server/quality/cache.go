package quality

import (
	"container/list"
	"sync"
)

// settledAfter is how long after its end a call's timeline is taken as final: a sample the
// server accepted just before the end may be stored a moment after it.
const settledAfter = 10_000 // ms

// defaultCacheCalls bounds the summaries kept of ended calls (a few hundred bytes each).
const defaultCacheCalls = 10_000

// summaryCache keeps the party summaries of ended calls, least recently used out first:
// their timelines no longer change (samples of a call that ended are refused), so the
// records' pages need not read and sum them again. Pruning samples empties it.
type summaryCache struct {
	mu    sync.Mutex
	max   int
	order *list.List // of callKey, most recent first
	items map[callKey]cacheItem
}

type cacheItem struct {
	q  *PartyQuality
	el *list.Element
}

func newSummaryCache(maxCalls int) *summaryCache {
	return &summaryCache{max: maxCalls, order: list.New(), items: map[callKey]cacheItem{}}
}

func (c *summaryCache) get(k callKey) (*PartyQuality, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	it, ok := c.items[k]
	if ok {
		c.order.MoveToFront(it.el)
	}
	return it.q, ok
}

func (c *summaryCache) put(k callKey, q *PartyQuality) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if it, ok := c.items[k]; ok {
		c.order.MoveToFront(it.el)
		c.items[k] = cacheItem{q, it.el}
		return
	}
	c.items[k] = cacheItem{q, c.order.PushFront(k)}
	for c.order.Len() > c.max {
		old := c.order.Remove(c.order.Back()).(callKey)
		delete(c.items, old)
	}
}

func (c *summaryCache) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.order.Init()
	clear(c.items)
}
