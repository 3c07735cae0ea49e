package recording

import (
	"context"
	"time"
)

// armJanitor schedules the next sweep on the clock.
func (s *Service) armJanitor() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.janitor = s.cfg.Clock.AfterFunc(s.cfg.JanitorInterval, func() {
		s.mu.Lock()
		if !s.closed {
			select {
			case s.sweep <- struct{}{}:
			default:
			}
		}
		s.mu.Unlock()
		s.armJanitor()
	})
}

// janitorLoop deletes expired recordings whenever the janitor fires.
func (s *Service) janitorLoop() {
	defer s.wg.Done()
	for range s.sweep {
		if n, err := s.DeleteExpired(s.ctx); err != nil {
			s.log.Warn("recording: janitor", "deleted", n, "err", err)
		} else if n > 0 {
			s.log.Info("recording: expired recordings deleted", "count", n)
		}
	}
}

// DeleteExpired deletes every recording whose expiry has passed on the clock, files first,
// and returns how many it deleted.
func (s *Service) DeleteExpired(ctx context.Context) (int, error) {
	n := 0
	for {
		qctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		recs, err := s.st.ExpiredRecordings(qctx, s.cfg.Clock.Now(), 100)
		cancel()
		if err != nil {
			return n, err
		}
		if len(recs) == 0 {
			return n, nil
		}
		for _, r := range recs {
			dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			err := s.Delete(dctx, r)
			cancel()
			if err != nil {
				return n, err
			}
			n++
		}
	}
}
