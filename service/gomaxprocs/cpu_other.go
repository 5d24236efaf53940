//go:build !unix

package gomaxprocs

import "time"

// processCPU cannot read the CPU time here, so no Governor acts.
func processCPU() (time.Duration, bool) { return 0, false }
