package server

import (
	"context"
	"sync"
	"time"

	"github.com/duet-rtc/duet/protocol"
	"github.com/duet-rtc/duet/server/account"
)

// sessionAudit checks the sessions of the devices connected to this node against the store
// after the node's cluster connection came back. A revocation made on another node reaches
// this one as a kick notice; a notice sent while this node was cut off from NATS is lost,
// and the revoked token's connection would stay open until it ended on its own. The audit
// closes it instead. One audit runs at a time; a reconnect during one runs it again.
type sessionAudit struct {
	s *Server

	mu      sync.Mutex
	running bool
	again   bool
	closed  bool
	wg      sync.WaitGroup
	ctx     context.Context
	cancel  context.CancelFunc
}

func newSessionAudit(s *Server) *sessionAudit {
	ctx, cancel := context.WithCancel(context.Background())
	return &sessionAudit{s: s, ctx: ctx, cancel: cancel}
}

// request starts an audit, or asks the running one to run again when it ends. It does not
// block.
func (a *sessionAudit) request() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return
	}
	if a.running {
		a.again = true
		return
	}
	a.running = true
	a.wg.Add(1)
	go a.loop()
}

func (a *sessionAudit) loop() {
	defer a.wg.Done()
	for {
		a.run()
		a.mu.Lock()
		if !a.again || a.closed {
			a.running = false
			a.mu.Unlock()
			return
		}
		a.again = false
		a.mu.Unlock()
	}
}

// run checks every session once and closes the connections of those revoked meanwhile.
func (a *sessionAudit) run() {
	a.s.accounts.ForgetAll()
	sessions := a.s.hub.Sessions()
	kicked := 0
	for _, ss := range sessions {
		if a.ctx.Err() != nil {
			return
		}
		ctx, cancel := context.WithTimeout(a.ctx, 10*time.Second)
		status, err := a.s.accounts.CheckSession(ctx, ss.App, ss.User, ss.Session)
		cancel()
		if err != nil {
			a.s.cfg.Logger.Warn("session audit: a token could not be checked; its connection stays", "app", ss.App, "user", ss.User, "err", err)
			continue
		}
		switch status {
		case account.SessionRevoked:
			a.s.hub.KickSession(ss.App, ss.User, ss.Session, protocol.EndTokenRevoked)
			kicked++
		case account.SessionUserDeleted:
			a.s.hub.Kick(ss.App, ss.User, protocol.EndDestroy)
			kicked++
		}
	}
	a.s.cfg.Logger.Info("session audit after the cluster connection came back", "sessions", len(sessions), "closed", kicked)
}

// close stops a running audit and waits for it; later requests are ignored.
func (a *sessionAudit) close() {
	a.mu.Lock()
	a.closed = true
	a.mu.Unlock()
	a.cancel()
	a.wg.Wait()
}
