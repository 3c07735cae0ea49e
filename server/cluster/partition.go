package cluster

import (
	"hash/fnv"
	"strings"
)

// DefaultPartitions is how many partitions the apps are spread over when Config says
// nothing. Every node of a cluster must use the same number.
const DefaultPartitions = 16

// Partition returns the partition of app among n: every call of an app is decided by the
// owner of its partition, since calls never cross apps. App keys compare
// case-insensitively, so they hash lower-cased.
func Partition(app string, n int) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(strings.ToLower(app)))
	return int(h.Sum32() % uint32(n))
}
