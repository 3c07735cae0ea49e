package server

import (
	"fmt"
	"path/filepath"

	"github.com/duet-rtc/duet/protocol"
	"github.com/duet-rtc/duet/server/turn"
)

// startTURN starts the embedded TURN server when Config.TURN.Addr is set. Its secret is the
// configured one or DataDir/turn-secret, made on first start; it logs, tells time and
// reports metrics through the server's.
func (s *Server) startTURN() error {
	cfg := s.cfg.TURN
	if cfg.Addr == "" {
		return nil
	}
	if len(cfg.Secret) == 0 && s.cfg.clustered() {
		// Every node must accept the credentials the others issue.
		secret, err := s.sharedSecret("turn-secret", "")
		if err != nil {
			return err
		}
		cfg.Secret = []byte(secret)
	}
	if len(cfg.Secret) == 0 {
		secret, err := turn.LoadOrCreateSecret(filepath.Join(s.cfg.DataDir, "turn-secret"))
		if err != nil {
			return err
		}
		cfg.Secret = secret
	}
	cfg.Logger, cfg.Clock, cfg.Metrics = s.cfg.Logger, s.cfg.Clock, s.registry
	t, err := turn.New(cfg)
	if err != nil {
		return fmt.Errorf("turn server: %w", err)
	}
	s.turn = t
	return nil
}

// iceServers is callflow's ICEServers: each party of a call gets the TURN URLs with a
// credential of its own. nil when TURN is off.
func (s *Server) iceServers() func(app, user, callID string) []protocol.ICEServer {
	if s.turn == nil {
		return nil
	}
	return s.turn.ICEServers
}

// TURN returns the embedded TURN server, nil when it is off.
func (s *Server) TURN() *turn.Server { return s.turn }
