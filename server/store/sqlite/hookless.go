package sqlite

import (
	"strings"
	"sync"
)

// hooklessApps remembers the apps that have no webhook endpoint, so that a group commit of
// call steps skips their events' fan-out to the outbox: one statement per event (five or so
// per call) that finds nothing for most apps. It is learnt from the commits themselves (an
// event that fanned out to no endpoint) and forgotten whenever an endpoint is written. The
// database belongs to one server process (the data folder is locked), so every write of an
// endpoint goes through this Store.
//
// A commit that ran before an endpoint was added must not leave its "none" behind: each
// write of an endpoint moves the generation after it is stored, and a commit records what
// it learnt only if the generation it started under is still current.
type hooklessApps struct {
	mu   sync.Mutex
	gen  uint64
	none map[string]bool // by lower-cased app key (apps compare case-insensitively)
}

// generation returns the generation to pass to learn.
func (h *hooklessApps) generation() uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.gen
}

// has reports whether app is known to have no endpoint.
func (h *hooklessApps) has(app string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.none[strings.ToLower(app)]
}

// learn records apps whose events fanned out to no endpoint in a commit begun under gen.
func (h *hooklessApps) learn(gen uint64, apps []string) {
	if len(apps) == 0 {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if gen != h.gen {
		return
	}
	if h.none == nil {
		h.none = map[string]bool{}
	}
	for _, a := range apps {
		h.none[strings.ToLower(a)] = true
	}
}

// forget is called after every write of an endpoint (or an app), stored or not.
func (h *hooklessApps) forget() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.gen++
	clear(h.none)
}
