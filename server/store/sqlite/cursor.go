package sqlite

import (
	"encoding/base64"
	"strconv"
	"strings"
)

// A call cursor is the position of the last record of a page, (invited_at, id), encoded so
// that callers treat it as opaque: base64url("c1:" + invitedAtMillis + ":" + id).
const cursorPrefix = "c1:"

// maxCursorLen bounds what decodeCursor accepts; a real cursor is far shorter.
const maxCursorLen = 512

func encodeCursor(invitedAt int64, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(cursorPrefix + strconv.FormatInt(invitedAt, 10) + ":" + id))
}

func decodeCursor(s string) (invitedAt int64, id string, ok bool) {
	if len(s) > maxCursorLen {
		return 0, "", false
	}
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return 0, "", false
	}
	rest, found := strings.CutPrefix(string(raw), cursorPrefix)
	if !found {
		return 0, "", false
	}
	at, id, found := strings.Cut(rest, ":")
	if !found {
		return 0, "", false
	}
	invitedAt, err = strconv.ParseInt(at, 10, 64)
	if err != nil {
		return 0, "", false
	}
	return invitedAt, id, true
}
