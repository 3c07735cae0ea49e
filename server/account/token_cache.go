package account

import (
	"strings"
	"sync"
	"time"

	"github.com/duet-rtc/duet/server/store"
)

// Token cache bounds. An entry is trusted for at most defaultCacheMaxAge, so a token
// revoked by another process sharing the database (a future cluster node, the CLI) stops
// working within that time; revocations through this Service take effect at once.
const (
	defaultCacheSize   = 100_000
	defaultCacheMaxAge = time.Minute
)

// tokenCache holds tokens read from the store, by hash, with an index by user for the
// revocations that take all of a user's tokens.
//
// A reader that missed loads the token from the store and then adds it; if an invalidation
// ran in between, the add could resurrect a revoked token. gen prevents that: every
// invalidation bumps it, and add only stores when gen is what the reader saw before its
// load.
type tokenCache struct {
	max    int
	maxAge time.Duration

	mu      sync.RWMutex
	gen     uint64
	entries map[string]cacheEntry          // by token hash
	byUser  map[string]map[string]struct{} // userKey -> hashes
}

type cacheEntry struct {
	tok    store.Token
	loaded time.Time // monotonic, for maxAge
}

func newTokenCache(max int, maxAge time.Duration) *tokenCache {
	return &tokenCache{max: max, maxAge: maxAge, entries: map[string]cacheEntry{}, byUser: map[string]map[string]struct{}{}}
}

func userKey(app, user string) string { return strings.ToLower(app) + "\x00" + strings.ToLower(user) }

// get returns the cached token with hash, if present and fresh.
func (c *tokenCache) get(hash string) (store.Token, bool) {
	c.mu.RLock()
	e, ok := c.entries[hash]
	c.mu.RUnlock()
	if !ok || time.Since(e.loaded) > c.maxAge {
		return store.Token{}, false
	}
	return e.tok, true
}

// generation returns the invalidation counter, to pass to add.
func (c *tokenCache) generation() uint64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.gen
}

// add caches t unless an invalidation happened since gen was read.
func (c *tokenCache) add(t store.Token, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return
	}
	if len(c.entries) >= c.max {
		c.evictLocked()
	}
	c.entries[t.Hash] = cacheEntry{tok: t, loaded: time.Now()}
	if t.Username != "" {
		k := userKey(t.App, t.Username)
		set := c.byUser[k]
		if set == nil {
			set = map[string]struct{}{}
			c.byUser[k] = set
		}
		set[t.Hash] = struct{}{}
	}
}

// evictLocked drops about a tenth of the entries, chosen by map order (arbitrary).
func (c *tokenCache) evictLocked() {
	n := max(1, c.max/10)
	for h, e := range c.entries {
		c.removeLocked(h, e.tok)
		if n--; n == 0 {
			return
		}
	}
}

func (c *tokenCache) removeLocked(hash string, t store.Token) {
	delete(c.entries, hash)
	if t.Username != "" {
		k := userKey(t.App, t.Username)
		if set := c.byUser[k]; set != nil {
			delete(set, hash)
			if len(set) == 0 {
				delete(c.byUser, k)
			}
		}
	}
}

// drop removes the token with hash.
func (c *tokenCache) drop(hash string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	if e, ok := c.entries[hash]; ok {
		c.removeLocked(hash, e.tok)
	}
}

// dropUser removes every token of the user.
func (c *tokenCache) dropUser(app, user string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	k := userKey(app, user)
	for h := range c.byUser[k] {
		delete(c.entries, h)
	}
	delete(c.byUser, k)
}

// dropAll empties the cache.
func (c *tokenCache) dropAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.entries = map[string]cacheEntry{}
	c.byUser = map[string]map[string]struct{}{}
}

// dropExpired removes the tokens expired at now.
func (c *tokenCache) dropExpired(now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	for h, e := range c.entries {
		if !e.tok.Expires.IsZero() && !now.Before(e.tok.Expires) {
			c.removeLocked(h, e.tok)
		}
	}
}

// len returns the number of cached tokens.
func (c *tokenCache) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.entries)
}
