package inmem_test

import (
	"time"

	"wagateway/internal/clocktest"
)

// newFakeClock is a clock the test moves by hand (nothing here waits on
// After).
func newFakeClock() *clocktest.Clock {
	return clocktest.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
}
