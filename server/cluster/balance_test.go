package cluster

import "testing"

// TestSpare: a node over its share gives up the last partition no peer claims, and none
// while every extra one is still claimed by a peer (taken over from a node that died, whose
// claims have not timed out): given up then, the others would take it as orphaned.
func TestSpare(t *testing.T) {
	for _, tc := range []struct {
		owned   []int
		share   int
		claimed map[int]bool
		want    int
		ok      bool
	}{
		{[]int{1, 2, 3}, 3, nil, 0, false},
		{[]int{1, 2, 3, 4}, 3, nil, 4, true},
		{[]int{1, 2, 3, 4}, 3, map[int]bool{4: true}, 3, true},
		{[]int{1, 2}, 1, map[int]bool{1: true, 2: true}, 0, false},
	} {
		got, ok := spare(tc.owned, tc.share, tc.claimed)
		if got != tc.want || ok != tc.ok {
			t.Errorf("spare(%v, %d, %v) = %d, %v; want %d, %v", tc.owned, tc.share, tc.claimed, got, ok, tc.want, tc.ok)
		}
	}
}
