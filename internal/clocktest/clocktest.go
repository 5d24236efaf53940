// Package clocktest is a fake service.Clock for tests: time moves only when
// the test says so.
//
// It imports nothing from the service; *Clock satisfies service.Clock
// (Now, After) structurally.
package clocktest

import (
	"slices"
	"sync"
	"testing"
	"time"
)

// hangGuard bounds WaitTimers so a test that never arms its timers fails
// instead of hanging; it is not a timing assertion.
const hangGuard = 10 * time.Second

// Clock is a fake clock. After records every wait asked for. A timer fires
// when Advance moves the clock to (or past) its deadline; After(d <= 0)
// fires at once. In auto mode every After fires at once, moving now
// forward by d.
type Clock struct {
	mu      sync.Mutex
	now     time.Time
	auto    bool
	waits   []time.Duration
	timers  []timer
	changed chan struct{} // a timer was armed
}

type timer struct {
	at time.Time
	ch chan time.Time
}

// New returns a clock standing at start.
func New(start time.Time) *Clock {
	return &Clock{now: start, changed: make(chan struct{}, 1)}
}

// NewAuto returns a clock standing at start in auto mode.
func NewAuto(start time.Time) *Clock {
	c := New(start)
	c.auto = true
	return c
}

// SetAuto switches auto mode on or off; timers already armed stay armed.
func (c *Clock) SetAuto(auto bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.auto = auto
}

// Now is the clock's current time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// After is time.After on this clock.
func (c *Clock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.waits = append(c.waits, d)
	ch := make(chan time.Time, 1)
	if c.auto {
		c.now = c.now.Add(d)
		ch <- c.now
		return ch
	}
	if d <= 0 {
		ch <- c.now
		return ch
	}
	c.timers = append(c.timers, timer{at: c.now.Add(d), ch: ch})
	select {
	case c.changed <- struct{}{}:
	default:
	}
	return ch
}

// Advance moves the clock forward by d and fires the timers that are due.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.timers[:0]
	for _, t := range c.timers {
		if t.at.After(c.now) {
			kept = append(kept, t)
		} else {
			t.ch <- c.now
		}
	}
	clear(c.timers[len(kept):])
	c.timers = kept
}

// Timers is how many timers are armed and not yet fired.
func (c *Clock) Timers() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

// WaitTimers blocks until at least n timers are armed, so an Advance cannot
// race the goroutine that is about to arm its timer. It fails the test
// after a 10 s hang guard.
func (c *Clock) WaitTimers(t testing.TB, n int) {
	t.Helper()
	deadline := time.NewTimer(hangGuard)
	defer deadline.Stop()
	for {
		armed := c.Timers()
		if armed >= n {
			return
		}
		select {
		case <-c.changed:
		case <-deadline.C:
			t.Fatalf("clocktest: only %d of %d timers armed after %s", armed, n, hangGuard)
		}
	}
}

// Waits is every duration After was asked for, in order.
func (c *Clock) Waits() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.waits)
}
