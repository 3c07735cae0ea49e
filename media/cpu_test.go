package media

import (
	"syscall"
	"time"
)

// cpuTime is this process's user+system CPU time: benchmarks report CPU per operation,
// which other work on a shared machine does not inflate the way it inflates wall time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
