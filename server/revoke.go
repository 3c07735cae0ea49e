package server

import (
	"github.com/duet-rtc/duet/protocol"
	"github.com/duet-rtc/duet/server/account"
)

// revokedReason is the kick reason of a revocation: TokenRevoked (11) when the user logged
// out or changed the password, BeenKicked (9) when an operator revoked the tokens.
func revokedReason(r account.Revocation) protocol.EndReason {
	if r.Operator {
		return protocol.EndBeenKicked
	}
	return protocol.EndTokenRevoked
}

// kickRevoked closes the live connections of revoked tokens (a deleted user's: every one)
// with reason, here at once and, in a cluster, on every node, which also forgets the tokens
// its cache still trusts (kickNotice).
func (s *Server) kickRevoked(r account.Revocation, reason protocol.EndReason) {
	s.hub.KickSession(r.App, r.User, r.TokenHash, reason)
	if s.cluster != nil {
		s.cluster.kick(r.App, r.User, r.TokenHash, reason)
	}
}
