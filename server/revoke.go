package server

import (
	"strconv"
	"strings"

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
// with reason. In a cluster every node is told, for the connections it holds and the tokens
// its cache still trusts.
func (s *Server) kickRevoked(r account.Revocation, reason protocol.EndReason) {
	s.hub.KickSession(r.App, r.User, r.TokenHash, reason)
	if s.cluster != nil && s.cluster.node != nil {
		s.cluster.node.Notify(revokeTopic(r, reason))
	}
}

// revokeTopicPrefix starts the cluster notice of a revocation:
// "revoke\x00app\x00user\x00tokenHash\x00reason".
const revokeTopicPrefix = "revoke\x00"

func revokeTopic(r account.Revocation, reason protocol.EndReason) string {
	return revokeTopicPrefix + strings.Join([]string{r.App, r.User, r.TokenHash, strconv.Itoa(int(reason))}, "\x00")
}

// revokedElsewhere acts on another node's revocation notice: the tokens leave this node's
// cache and their connections here are kicked. Other topics are ignored.
func (s *Server) revokedElsewhere(topic string) {
	rest, ok := strings.CutPrefix(topic, revokeTopicPrefix)
	if !ok {
		return
	}
	f := strings.Split(rest, "\x00")
	if len(f) != 4 {
		return
	}
	reason, err := strconv.Atoi(f[3])
	if err != nil {
		return
	}
	s.accounts.Forget(f[0], f[1], f[2])
	s.hub.KickSession(f[0], f[1], f[2], protocol.EndReason(reason))
}
