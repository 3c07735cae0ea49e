package codec

import "testing"

func TestCursorRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		at int64
		id string
	}{{0, ""}, {1_760_000_000_123, "abc:def"}, {-1, "x"}} {
		at, id, ok := DecodeCursor(EncodeCursor(tc.at, tc.id))
		if !ok || at != tc.at || id != tc.id {
			t.Errorf("round trip of (%d, %q) = (%d, %q, %v)", tc.at, tc.id, at, id, ok)
		}
	}
}
