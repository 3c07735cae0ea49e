package protocol

import "testing"

func TestNegotiate(t *testing.T) {
	for _, tc := range []struct {
		offered    []int
		minV, maxV int
		want       int
		code       ErrorCode
	}{
		{[]int{1}, 1, 1, 1, 0},
		{[]int{1, 2, 3}, 1, 2, 2, 0},
		{[]int{3, 1}, 1, 3, 3, 0},
		{[]int{1}, 2, 3, 0, CodeUpgradeRequired},
		{[]int{1, 4}, 2, 3, 0, CodeUnsupportedVersion},
		{[]int{4}, 1, 3, 0, CodeUnsupportedVersion},
		{[]int{0}, 1, 1, 0, CodeUnsupportedVersion},
		{[]int{-1}, 1, 1, 0, CodeUnsupportedVersion},
	} {
		got, err := Negotiate(tc.offered, tc.minV, tc.maxV)
		if CodeOf(err) != tc.code || (tc.code == 0 && got != tc.want) {
			t.Errorf("Negotiate(%v, %d, %d) = %d, %v; want %d, code %d", tc.offered, tc.minV, tc.maxV, got, err, tc.want, tc.code)
		}
	}
	if got := (&Hello{Version: 1}).Offered(); len(got) != 1 || got[0] != 1 {
		t.Errorf("Offered without a list = %v", got)
	}
}
