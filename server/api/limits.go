package api

import (
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/duet-rtc/duet/protocol"
	"github.com/duet-rtc/duet/server/limit"
)

// Limits throttles what anyone may try without a token: password and client-secret guesses
// and registrations. Zero fields throttle nothing (the server sets them; tests of the API
// alone leave them off).
type Limits struct {
	// Accounts backs off failed logins per account (app key and username, or app key for
	// the client_credentials grant), from any address.
	Accounts *limit.Backoff
	// Sources backs off failed logins per source address, whatever the account.
	Sources *limit.Backoff
	// Known holds the (account, address) pairs that logged in lately: these skip the
	// account's backoff (not the address's), so that an attacker guessing an account's
	// password from elsewhere does not lock its owner out. nil: nobody skips.
	Known *limit.Seen
	// Signups bounds the users an address registers without the app token, one token each.
	Signups *limit.Buckets
	// ClientAddr tells the address a request comes from; nil uses the peer's.
	ClientAddr func(*http.Request) netip.Addr
	// OnThrottle, if set, is told each request refused with 429: "login_address",
	// "login_account" or "signup" (metrics).
	OnThrottle func(limit string)
}

func (l *Limits) throttled(limit string) {
	if l.OnThrottle != nil {
		l.OnThrottle(limit)
	}
}

// MaxOpenBatch is the most users one registration without the app token may carry: each
// costs a password hash, and nothing vouches for the sender.
const MaxOpenBatch = 10

func (l *Limits) addr(r *http.Request) string {
	if l.ClientAddr != nil {
		return l.ClientAddr(r).String()
	}
	return limit.Proxies(nil).ClientAddr(r).String()
}

// tryLogin asks both backoffs for a login attempt on account. It returns the function to
// call with the attempt's outcome, or the 429 to answer.
func (a *API) tryLogin(w http.ResponseWriter, r *http.Request, account string) (done func(error), err error) {
	l := &a.Limits
	if l.Accounts == nil || l.Sources == nil {
		return func(error) {}, nil
	}
	src := l.addr(r)
	if wait := l.Sources.Try(src); wait > 0 {
		l.throttled("login_address")
		return nil, tooMany(w, wait, "too many failed logins from your address")
	}
	known := l.Known != nil && l.Known.Has(account+"\x00"+src)
	if known {
		return func(err error) {
			if code := protocol.CodeOf(err); code != protocol.CodeUserAuthFailed {
				l.Sources.Succeeded(src, false)
			}
		}, nil
	}
	if wait := l.Accounts.Try(account); wait > 0 {
		l.Sources.Succeeded(src, false) // refused before any work: it costs the address nothing
		l.throttled("login_account")
		return nil, tooMany(w, wait, "too many failed logins for this account")
	}
	return func(err error) {
		switch protocol.CodeOf(err) {
		case protocol.CodeUserAuthFailed: // a wrong guess: both keep it
		case 0:
			l.Accounts.Succeeded(account, true)
			l.Sources.Succeeded(src, false)
			if l.Known != nil {
				l.Known.Add(account + "\x00" + src)
			}
		default: // not a guess (the store failed, a bad ttl...)
			l.Accounts.Succeeded(account, false)
			l.Sources.Succeeded(src, false)
		}
	}, nil
}

// accountKey names an account for the backoff; usernames compare case-insensitively, and
// the length is bounded so that junk names cannot make big keys.
func accountKey(appKey, user string) string {
	if len(user) > protocol.MaxUsernameBytes {
		user = user[:protocol.MaxUsernameBytes]
	}
	return strings.ToLower(appKey) + "\x00" + strings.ToLower(user)
}

// trySignup takes n registrations from the address's bucket, unless the request carries the
// app token.
func (a *API) trySignup(w http.ResponseWriter, r *http.Request, appKey string, n int) error {
	l := &a.Limits
	if l.Signups == nil {
		return nil
	}
	if tok := bearer(r); tok != "" {
		if _, err := a.acct.AuthenticateApp(r.Context(), appKey, tok); err == nil {
			return nil
		}
	}
	if n > MaxOpenBatch {
		return newHTTPError(http.StatusBadRequest, nameIllegalArgument, protocol.CodeUserIllegalArgument,
			"at most %d users per registration without the app token", MaxOpenBatch)
	}
	wait := l.Signups.Take(l.addr(r), n)
	if wait == 0 {
		return nil
	}
	l.throttled("signup")
	return tooMany(w, max(wait, time.Second), "too many registrations from your address")
}

// tooMany is the 429 of a throttled request, with Retry-After in whole seconds, rounded up.
func tooMany(w http.ResponseWriter, wait time.Duration, msg string) error {
	w.Header().Set("Retry-After", strconv.Itoa(int((wait+time.Second-1)/time.Second)))
	return newHTTPError(http.StatusTooManyRequests, nameRateLimited, protocol.CodeTooManyAttempts,
		"%s; retry in %d s", msg, int((wait+time.Second-1)/time.Second))
}
