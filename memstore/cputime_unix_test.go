//go:build unix

package memstore_test

import (
	"syscall"
	"time"
)

// cpuTime is the CPU time the process has used, all threads included (the
// garbage collector's too). On a machine shared with other work, it counts
// what a benchmark costs without the time it waited for a CPU.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
