// Package codec holds what every SQL store encodes the same way, so that their rows and
// cursors agree: times as unix milliseconds, keyset cursors, page sizes.
package codec

import (
	"encoding/base64"
	"strconv"
	"strings"
)

// A cursor (of calls or recordings) is the position of the last row of a page, (time, id),
// encoded so that callers treat it as opaque: base64url("c1:" + timeMillis + ":" + id).
const cursorPrefix = "c1:"

// maxCursorLen bounds what DecodeCursor accepts; a real cursor is far shorter.
const maxCursorLen = 512

// EncodeCursor makes the cursor of a page whose last row is (at, id), at in unix ms.
func EncodeCursor(at int64, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(cursorPrefix + strconv.FormatInt(at, 10) + ":" + id))
}

// DecodeCursor is the inverse of EncodeCursor; ok false for anything it did not make.
func DecodeCursor(s string) (at int64, id string, ok bool) {
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
	ms, id, found := strings.Cut(rest, ":")
	if !found {
		return 0, "", false
	}
	at, err = strconv.ParseInt(ms, 10, 64)
	if err != nil {
		return 0, "", false
	}
	return at, id, true
}
